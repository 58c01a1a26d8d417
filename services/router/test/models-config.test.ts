import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { ModelRouter, parseTrainingData } from "../src/models/index.js";

const served = new Set(["small-model", "large-model"]);
const deps = { isServed: (model: string) => served.has(model) };
const tiers = { small: { model: "small-model" }, large: { model: "large-model" } };

function problems(input: unknown): string[] {
  try {
    ModelRouter.create(input, deps);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

function tempFile(name: string, contents: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "strata-models-")), name);
  writeFileSync(path, contents);
  return path;
}

describe("model routing configuration", () => {
  it("accepts an empty section: every served model passes through", async () => {
    const models = ModelRouter.create(undefined, deps);
    expect(models.config).toEqual({ aliases: {}, tiers: {}, routes: {} });
    expect((await models.resolve({ model: "small-model" })).model).toBe("small-model");
  });

  it("rejects unknown fields and wrong types with the path of the field", () => {
    expect(problems({ tiers: { small: { model: "small-model", weight: 2 } }, extra: true })).toEqual([
      expect.stringMatching(/^models\.tiers\.small: .*"weight"/),
      expect.stringMatching(/^models: .*"extra"/),
    ]);
    expect(
      problems({ tiers, routes: { auto: { default: "small", classifier: { threshold: 1.5 } } } }),
    ).toEqual([expect.stringMatching(/^models\.routes\.auto\.classifier\.threshold: /)]);
  });

  it("rejects references to unknown tiers in rules, defaults and label maps", () => {
    const routes = {
      auto: {
        rules: [{ tenants: ["a"], tier: "medium" }],
        default: "tiny",
        classifier: { labels: { small: "mini" } },
      },
    };
    expect(problems({ tiers, routes })).toEqual([
      'models.routes.auto.default: unknown tier "tiny"',
      'models.routes.auto.rules.0.tier: unknown tier "medium"',
      'models.routes.auto.classifier.labels.small: unknown tier "mini"',
    ]);
  });

  it("rejects an LLM fallback tier that does not exist", () => {
    const llm = { url: "http://127.0.0.1:9", model: "tiny", fallbackTier: "huge" };
    expect(problems({ tiers, routes: { auto: { default: "small", classifier: { llm } } } })).toEqual([
      'models.routes.auto.classifier.llm.fallbackTier: unknown tier "huge"',
    ]);
  });

  it("rejects alias cycles, naming the chain", () => {
    expect(problems({ aliases: { a: "b", b: "c", c: "a", d: "a" } })).toEqual([
      "models.aliases.a: alias cycle: a → b → c → a",
      "models.aliases.b: alias cycle: b → c → a → b",
      "models.aliases.c: alias cycle: c → a → b → c",
    ]);
    expect(problems({ aliases: { self: "self" } })).toEqual([
      "models.aliases.self: alias cycle: self → self",
    ]);
  });

  it("rejects names shared between aliases, tiers and routes", () => {
    expect(problems({ aliases: { small: "large" }, tiers, routes: { large: { default: "small" } } })).toEqual(
      [
        'models.aliases.small: "small" is also a tier name',
        'models.routes.large: "large" is also a tier name',
      ],
    );
  });

  it("rejects invalid rules: bad regex, stateful flags, no condition, empty token range", () => {
    const rules = [
      { pattern: "[a-", tier: "small" },
      { pattern: "a", patternFlags: "g", tier: "small" },
      { tier: "small" },
      { minPromptTokens: 10, maxPromptTokens: 5, tier: "small" },
    ];
    expect(problems({ tiers, routes: { auto: { rules, default: "small" } } })).toEqual([
      expect.stringMatching(/^models\.routes\.auto\.rules\.1\.patternFlags: use only the flags/),
      expect.stringMatching(/^models\.routes\.auto\.rules\.0\.pattern: invalid regular expression: .*\[a-/),
      "models.routes.auto.rules.2: a rule needs at least one condition; the route's default is the catch-all",
      "models.routes.auto.rules.3.minPromptTokens: is greater than maxPromptTokens, so the rule can never match",
    ]);
  });

  it("rejects models no endpoint serves, in tiers, aliases and fallbacks", () => {
    const input = {
      aliases: { gpt: "gpt-4" },
      tiers: { ...tiers, large: { model: "large-model", fallbacks: ["small", "medium-model"] } },
      routes: { auto: { default: "small", fallbacks: ["huge-model"] } },
    };
    expect(problems(input)).toEqual([
      'models.tiers.large.fallbacks.1: model "medium-model" is not served by any endpoint',
      'models.routes.auto.fallbacks.0: model "huge-model" is not served by any endpoint',
      'models.aliases.gpt: model "gpt-4" is not served by any endpoint',
    ]);
  });

  it("rejects configured names that would hide a served model, except a tier named after its own model", () => {
    expect(
      problems({
        aliases: { "large-model": "small" },
        tiers: { ...tiers, "small-model": { model: "small-model" } },
        routes: { "small-model-route": { default: "small" } },
      }),
    ).toEqual(['models.aliases.large-model: "large-model" is a served model; this name would hide it']);
  });

  it("rejects a route as a fallback, since following it would need the request", () => {
    const input = {
      aliases: { smart: "auto" },
      tiers,
      routes: { auto: { default: "small", fallbacks: ["smart"] } },
    };
    expect(problems(input)).toEqual([
      'models.routes.auto.fallbacks.0: "smart" is a route; a fallback must be a tier or a model',
    ]);
  });

  it("rejects a training file that is missing, malformed or labelled with unknown tiers", () => {
    const route = (classifier: object) => ({ tiers, routes: { auto: { default: "small", classifier } } });
    expect(problems(route({ trainingFile: "/nonexistent/train.jsonl" }))).toEqual([
      expect.stringMatching(
        /^models\.routes\.auto\.classifier\.trainingFile: cannot read \/nonexistent\/train\.jsonl/,
      ),
    ]);
    const broken = tempFile("broken.jsonl", '{"text":"hi","label":"small"}\nnot json\n{"text":"x"}\n');
    expect(problems(route({ trainingFile: broken }))).toEqual([
      expect.stringMatching(
        /broken\.jsonl:2: not valid JSON.*broken\.jsonl:3: expected \{"text": string, "label": string\}/,
      ),
    ]);
    const oneLabel = tempFile("one.jsonl", '{"text":"hi","label":"small"}\n');
    expect(problems(route({ trainingFile: oneLabel }))[0]).toMatch(/needs at least two labels/);
    const custom = tempFile(
      "custom.jsonl",
      '{"text":"hi","label":"easy"}\n{"text":"prove it","label":"hard"}\n',
    );
    expect(problems(route({ trainingFile: custom }))).toEqual([
      expect.stringMatching(
        /^models\.routes\.auto\.classifier\.labels: label "easy" of .* is not a tier; map it/,
      ),
      expect.stringMatching(/label "hard"/),
    ]);
    const mapped = route({ trainingFile: custom, labels: { easy: "small", hard: "large" } });
    expect(() => ModelRouter.create(mapped, deps)).not.toThrow();
  });

  it("parses training JSONL, skipping blank lines", () => {
    expect(parseTrainingData('{"text":"a","label":"x"}\n\n{"text":"b","label":"y"}\n')).toEqual([
      { text: "a", label: "x" },
      { text: "b", label: "y" },
    ]);
    expect(() => parseTrainingData("\n\n", "empty.jsonl")).toThrow("empty.jsonl: no examples");
  });
});
