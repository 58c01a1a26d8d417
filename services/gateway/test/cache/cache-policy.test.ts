import { StrataError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { cacheConfigSchema } from "../../src/cache/cache-config.js";
import { parseCacheDirectives } from "../../src/cache/cache-directives.js";
import { CachePolicies, isDeterministic } from "../../src/cache/cache-policy.js";
import { type ChatCompletionRequest, validateRequest } from "../../src/openai/request-schemas.js";

const chat = (fields: Record<string, unknown> = {}) =>
  validateRequest("chat.completions", {
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    ...fields,
  }) as ChatCompletionRequest;

const headers = (values: Record<string, string>) => parseCacheDirectives((name) => values[name]);

describe("which requests are deterministic", () => {
  it("greedy or seeded, with one answer", () => {
    expect(isDeterministic(chat({ temperature: 0 }))).toBe(true);
    expect(isDeterministic(chat({ temperature: 0.8, seed: 42 }))).toBe(true);
    expect(isDeterministic(chat())).toBe(false); // the provider's default temperature samples
    expect(isDeterministic(chat({ temperature: 0.2 }))).toBe(false);
    expect(isDeterministic(chat({ temperature: 0, n: 2 }))).toBe(false);
    expect(isDeterministic(chat({ temperature: 0, n: 1 }))).toBe(true);
  });
});

describe("cache directives from headers", () => {
  it("are read case-insensitively and refused when malformed", () => {
    expect(headers({})).toBeUndefined();
    expect(headers({ "x-strata-cache": "Refresh", "x-strata-cache-ttl": "60" })).toEqual({
      mode: "refresh",
      ttlSeconds: 60,
    });
    expect(headers({ "x-strata-semantic-cache": "on", "x-strata-semantic-threshold": "0.9" })).toEqual({
      semantic: "on",
      semanticThreshold: 0.9,
    });
    const malformed: Record<string, string>[] = [
      { "x-strata-cache": "maybe" },
      { "x-strata-cache-ttl": "-5" },
      { "x-strata-cache-ttl": "1.5" },
      { "x-strata-cache-ttl": "" },
      { "x-strata-semantic-cache": "yes" },
      { "x-strata-semantic-threshold": "1.5" },
      { "x-strata-semantic-threshold": "0" },
    ];
    for (const bad of malformed) {
      expect(() => headers(bad), JSON.stringify(bad)).toThrow(StrataError);
    }
    expect(() => headers({ "x-strata-cache": "maybe" })).toThrow(
      "The x-strata-cache header must be one of on, off, refresh; got 'maybe'.",
    );
  });
});

describe("cache plans", () => {
  const config = cacheConfigSchema.parse({
    tenants: { ten_all: { exact: "always", semantic: true, ttlSeconds: 30, semanticThreshold: 0.8 } },
  });
  const policies = new CachePolicies(config, true);

  it("look up deterministic requests by default and bypass the rest", () => {
    expect(policies.plan(chat({ temperature: 0 }), "ten_x", undefined)).toMatchObject({
      exact: "lookup",
      semantic: "skip",
      exactTtlMs: 3_600_000,
    });
    expect(policies.plan(chat({ temperature: 1 }), "ten_x", undefined)).toBeUndefined();
    expect(policies.plan(chat({ temperature: 0, logprobs: true }), "ten_x", undefined)).toBeUndefined();
  });

  it("follow the request's headers over the tenant's defaults", () => {
    expect(policies.plan(chat({ temperature: 1 }), "ten_x", { mode: "on" })?.exact).toBe("lookup");
    expect(policies.plan(chat({ temperature: 0 }), "ten_x", { mode: "off" })).toBeUndefined();
    expect(policies.plan(chat({ temperature: 0 }), "ten_x", { mode: "refresh" })?.exact).toBe("store");
    expect(policies.plan(chat({ temperature: 0 }), "ten_x", { ttlSeconds: 5 })?.exactTtlMs).toBe(5_000);
    expect(policies.plan(chat({ temperature: 1 }), "ten_x", { semantic: "on" })).toMatchObject({
      exact: "skip",
      semantic: "lookup",
      threshold: 0.95,
    });
    expect(() => policies.plan(chat({ temperature: 0 }), "ten_x", { ttlSeconds: 10_000_000 })).toThrow(
      /at most 604800 seconds/,
    );
  });

  it("apply a tenant's own settings", () => {
    expect(policies.plan(chat({ temperature: 1 }), "ten_all", undefined)).toEqual({
      exact: "lookup",
      semantic: "lookup",
      exactTtlMs: 30_000,
      semanticTtlMs: 30_000,
      threshold: 0.8,
    });
    expect(policies.plan(chat(), "ten_all", { semantic: "off" })?.semantic).toBe("skip");
    expect(policies.plan(chat({ n: 3 }), "ten_all", undefined)?.semantic).toBe("skip");
  });

  it("never plan a semantic lookup when the gateway has no semantic cache", () => {
    const without = new CachePolicies(config, false);
    expect(without.plan(chat({ temperature: 1 }), "ten_x", { semantic: "on" })).toBeUndefined();
  });

  it("reads tenant settings from the environment as JSON", () => {
    const parsed = cacheConfigSchema.parse({ tenants: '{"ten_1":{"exact":"off"}}' });
    expect(parsed.tenants).toEqual({ ten_1: { exact: "off" } });
    expect(cacheConfigSchema.safeParse({ tenants: "{not json" }).success).toBe(false);
    expect(cacheConfigSchema.safeParse({ tenants: { ten_1: { exact: "sometimes" } } }).success).toBe(false);
  });
});
