import { ConfigError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { loadGatewayConfig } from "../../src/config.js";

const base = { GATEWAY_KEY_HASH_SECRET: "0123456789abcdef0123" };

describe("limits configuration", () => {
  it("has no limits, no prices and in-process counting by default", () => {
    const config = loadGatewayConfig(base);
    expect(config.limits.tenant).toEqual({});
    expect(config.limits.key).toEqual({});
    expect(config.pricing).toEqual({});
    expect(config.redisUrl).toBeUndefined();
    expect(config.rateLimits.redis).toMatchObject({ onError: "serve", leaseTtlMs: 60_000 });
  });

  it("reads defaults, Redis behaviour and the price table from the environment", () => {
    const config = loadGatewayConfig({
      ...base,
      REDIS_URL: "redis://127.0.0.1:6379",
      GATEWAY_LIMIT_TENANT_RPM: "600",
      GATEWAY_LIMIT_KEY_TPM: "20000",
      GATEWAY_LIMIT_KEY_CONCURRENCY: "4",
      GATEWAY_LIMIT_TENANT_MONTHLY_BUDGET_USD: "250.5",
      GATEWAY_RATELIMIT_REDIS_ON_ERROR: "refuse",
      GATEWAY_PRICING: '{"gpt-4o":{"input":2.5,"output":10,"cachedInput":1.25}}',
    });
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.limits.tenant).toEqual({ requestsPerMinute: 600, monthlyBudgetUsd: 250.5 });
    expect(config.limits.key).toEqual({ tokensPerMinute: 20_000, concurrentRequests: 4 });
    expect(config.rateLimits.redis.onError).toBe("refuse");
    expect(config.pricing["gpt-4o"]).toEqual({ input: 2.5, output: 10, cachedInput: 1.25 });
  });

  it("names the variable of a bad value", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadGatewayConfig({ ...base, ...env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ GATEWAY_LIMIT_KEY_RPM: "-5" })[0]).toContain("GATEWAY_LIMIT_KEY_RPM");
    expect(problems({ GATEWAY_RATELIMIT_REDIS_ON_ERROR: "maybe" })[0]).toContain(
      "GATEWAY_RATELIMIT_REDIS_ON_ERROR",
    );
    expect(problems({ GATEWAY_PRICING: "{oops" })[0]).toContain("GATEWAY_PRICING");
    expect(() => loadGatewayConfig({ ...base, GATEWAY_LIMIT_KEY_RPM: "1.5" })).toThrow(ConfigError);
  });
});
