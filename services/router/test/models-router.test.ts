import { ConfigError, StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { ModelRouter, type ModelRouterDeps, type ModelRoutingConfigInput } from "../src/models/index.js";

const served = new Set(["qwen-1.5b", "llama-8b", "llama-70b", "gpt-oss-120b"]);
const deps: ModelRouterDeps = { isServed: (model) => served.has(model) };

const config: ModelRoutingConfigInput = {
  aliases: { "gpt-4o": "best", best: "large", fast: "qwen-1.5b", smart: "auto" },
  tiers: {
    small: { model: "qwen-1.5b", fallbacks: ["medium"] },
    medium: { model: "llama-8b" },
    large: { model: "llama-70b", fallbacks: ["gpt-oss-120b", "medium"] },
  },
  routes: {
    auto: {
      rules: [
        { name: "premium", tenants: ["acme"], tier: "large" },
        { name: "long", minPromptTokens: 4000, tier: "large" },
        { metadata: { priority: "batch" }, tier: "small" },
        { name: "code", pattern: "```|\\bdef\\b|\\bfunction\\b", tier: "medium" },
      ],
      classifier: { threshold: 0.7 },
      default: "small",
      fallbacks: ["large"],
    },
    "rules-only": { rules: [{ maxPromptTokens: 10, tier: "small" }], default: "medium" },
  },
};

function router(): ModelRouter {
  return ModelRouter.create(config, deps);
}

describe("ModelRouter.resolve", () => {
  it("passes served model names through unchanged, with no reason or fallbacks", async () => {
    expect(await router().resolve({ model: "llama-8b" })).toEqual({
      model: "llama-8b",
      reason: "",
      fallbacks: [],
    });
  });

  it("rejects names that are neither configured nor served with model_not_found", async () => {
    const error = await router()
      .resolve({ model: "gpt-5" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model" });
    expect(() => router().resolveSync({ model: "" })).toThrow(StrataError);
  });

  it("resolves a tier to its model and its fallback chain", async () => {
    expect(await router().resolve({ model: "large" })).toEqual({
      model: "llama-70b",
      tier: "large",
      reason: 'tier "large"',
      fallbacks: ["gpt-oss-120b", "llama-8b"],
    });
  });

  it("follows alias chains and names every hop in the reason", async () => {
    const resolved = await router().resolve({ model: "gpt-4o" });
    expect(resolved).toMatchObject({ model: "llama-70b", tier: "large" });
    expect(resolved.reason).toBe('alias "gpt-4o" → alias "best" → tier "large"');
    expect(await router().resolve({ model: "fast" })).toEqual({
      model: "qwen-1.5b",
      reason: 'alias "fast" → model "qwen-1.5b"',
      fallbacks: [],
    });
  });

  it("applies the first matching rule, in order", async () => {
    const models = router();
    const premium = await models.resolve({ model: "auto", tenantId: "acme", prompt: "hi", metadata: {} });
    expect(premium).toMatchObject({ model: "llama-70b", tier: "large" });
    expect(premium.reason).toBe('route "auto": rule "premium" → tier "large"');

    const batch = await models.resolve({
      model: "auto",
      tenantId: "x",
      prompt: "def f(): pass",
      metadata: { priority: "batch" },
    });
    expect(batch.reason).toBe('route "auto": rule 3 → tier "small"');

    const code = await models.resolve({
      model: "auto",
      tenantId: "x",
      prompt: "user: what does def do here",
    });
    expect(code).toMatchObject({ model: "llama-8b", tier: "medium" });
    expect(code.reason).toContain('rule "code"');
  });

  it("measures prompt length from promptTokens, else estimates four characters per token", async () => {
    const models = router();
    expect((await models.resolve({ model: "auto", prompt: "hi", promptTokens: 5000 })).reason).toContain(
      'rule "long"',
    );
    expect((await models.resolve({ model: "auto", prompt: "x".repeat(16_000) })).reason).toContain(
      'rule "long"',
    );
    expect((await models.resolve({ model: "auto", prompt: "x".repeat(15_996) })).reason).not.toContain(
      "long",
    );
    expect((await models.resolve({ model: "rules-only", prompt: "x".repeat(40) })).tier).toBe("small");
    expect((await models.resolve({ model: "rules-only", prompt: "x".repeat(41) })).tier).toBe("medium");
  });

  it("lets the classifier pick the tier when no rule matches, and says how sure it was", async () => {
    const models = router();
    const easy = await models.resolve({ model: "auto", prompt: "user: What is the capital of Italy?\n" });
    expect(easy).toMatchObject({ model: "qwen-1.5b", tier: "small" });
    expect(easy.reason).toMatch(/^route "auto": classifier small p=[01]\.\d\d → tier "small"$/);
    const hard = await models.resolve({
      model: "smart",
      prompt:
        "system: be helpful\nuser: Prove that there are infinitely many primes of the form 4k+3, step by step.\n",
    });
    expect(hard).toMatchObject({ model: "llama-70b", tier: "large" });
    expect(hard.reason).toMatch(/^alias "smart" → route "auto": classifier large p=/);
  });

  it("uses the route's default tier when the classifier is below the threshold", async () => {
    const unsure = ModelRouter.create(
      { ...config, routes: { auto: { classifier: { threshold: 1 }, default: "medium" } } },
      deps,
    );
    const resolved = await unsure.resolve({ model: "auto", prompt: "Prove that sqrt(3) is irrational." });
    expect(resolved).toMatchObject({ model: "llama-8b", tier: "medium" });
    expect(resolved.reason).toMatch(/classifier large p=0\.\d\d < 1 → default tier "medium"$/);
  });

  it("gives a routed request the chosen tier's fallbacks, then the route's, without the chosen model", async () => {
    const models = router();
    const small = await models.resolve({ model: "auto", prompt: "hello!" });
    expect(small.fallbacks).toEqual(["llama-8b", "llama-70b"]);
    const large = await models.resolve({ model: "auto", tenantId: "acme" });
    expect(large.fallbacks).toEqual(["gpt-oss-120b", "llama-8b"]);
  });

  it("resolveSync decides like resolve when no LLM classifier is configured", async () => {
    const models = router();
    expect(models.usesLlm).toBe(false);
    for (const prompt of [
      "hello!",
      "Implement a B-tree in Rust with deletion.",
      "```js\nfunction f(){}```",
    ]) {
      expect(models.resolveSync({ model: "auto", prompt })).toEqual(
        await models.resolve({ model: "auto", prompt }),
      );
    }
  });
});

describe("ModelRouter.reload", () => {
  it("swaps to a valid configuration without a restart", async () => {
    const models = router();
    const result = models.reload({ tiers: { large: { model: "gpt-oss-120b" } }, aliases: { best: "large" } });
    expect(result).toEqual({ ok: true });
    expect((await models.resolve({ model: "best" })).model).toBe("gpt-oss-120b");
    await expect(models.resolve({ model: "auto" })).rejects.toMatchObject({ code: "model_not_found" });
  });

  it("keeps the running configuration and returns the errors when the new one is invalid", async () => {
    const models = router();
    const result = models.reload({
      tiers: { large: { model: "not-served" } },
      routes: { auto: { default: "huge", rules: [{ pattern: "(", tier: "large" }] } },
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([
      'models.routes.auto.default: unknown tier "huge"',
      expect.stringMatching(/^models\.routes\.auto\.rules\.0\.pattern: invalid regular expression: /),
    ]);
    expect(models.config).toEqual(router().config);
    expect((await models.resolve({ model: "best" })).model).toBe("llama-70b");
  });

  it("reports served-model problems found after the schema passed, without swapping", () => {
    const models = router();
    const result = models.reload({ tiers: { large: { model: "not-served" } } });
    expect(result).toEqual({
      ok: false,
      errors: ['models.tiers.large.model: model "not-served" is not served by any endpoint'],
    });
    expect(models.config.tiers.large?.model).toBe("llama-70b");
  });

  it("fails creation with a ConfigError naming each field at fault", () => {
    let caught: unknown;
    try {
      ModelRouter.create({ tiers: { small: { model: "qwen-1.5b", size: 1 } } }, deps, {
        path: "router.models",
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      expect.stringMatching(/^router\.models\.tiers\.small: .*size/),
    ]);
  });
});
