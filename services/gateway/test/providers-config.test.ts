import { inspect } from "node:util";
import { ConfigError } from "@strata/kit";
import { describe, expect, it } from "vitest";
import { gatewayConfigSchema, loadGatewayConfig } from "../src/config.js";
import { Secret } from "../src/providers/secret.js";

const base = { GATEWAY_KEY_HASH_SECRET: "0123456789abcdef0123" };

function problems(env: Record<string, string>): string {
  try {
    loadGatewayConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a configuration error");
}

describe("providers configuration", () => {
  it("reads providers and aliases from JSON variables and resolves keys named by variable", () => {
    const config = loadGatewayConfig({
      ...base,
      GATEWAY_PROVIDERS: JSON.stringify([
        {
          name: "openai",
          kind: "openai",
          baseUrl: "https://api.openai.com/v1/",
          apiKeyEnv: "OPENAI_API_KEY",
        },
        {
          name: "claude",
          kind: "anthropic",
          baseUrl: "https://api.anthropic.com/v1",
          apiKeyFile: "/run/secrets/claude",
        },
      ]),
      GATEWAY_MODEL_ALIASES: JSON.stringify({
        "chat-best": ["openai:gpt-4o", "claude:claude-sonnet-4", "engine:llama-3-8b"],
      }),
      OPENAI_API_KEY: "sk-live-123",
      GATEWAY_RETRY_MAX_BACKOFF_MS: "2000",
    });
    const [openai, claude] = config.providers.hosted;
    expect(openai).toMatchObject({
      baseUrl: "https://api.openai.com/v1",
      apiKey: "sk-live-123",
      maxRetries: 2,
    });
    expect(claude).toMatchObject({ apiKeyFile: "/run/secrets/claude", anthropicVersion: "2023-06-01" });
    expect(config.providers.aliases["chat-best"]).toHaveLength(3);
    expect(config.providers.retry.maxBackoffMs).toBe(2_000);
  });

  it("names the setting at fault", () => {
    expect(problems({ GATEWAY_PROVIDERS: "[{" })).toMatch(
      /GATEWAY_PROVIDERS \(providers.hosted\): not valid JSON/,
    );
    expect(
      problems({ GATEWAY_PROVIDERS: JSON.stringify([{ name: "x", kind: "bedrock", baseUrl: "http://x" }]) }),
    ).toMatch(/providers\.hosted\.0\.kind/);
    expect(problems({ GATEWAY_MODEL_ALIASES: JSON.stringify({ best: ["engine:m", "nobody:m"] }) })).toMatch(
      /providers\.aliases\.best\.1: unknown provider "nobody"/,
    );
    expect(problems({ GATEWAY_MODEL_ALIASES: JSON.stringify({ best: ["no-colon"] }) })).toMatch(
      /providers\.aliases\.best\.0: "no-colon" is not <provider>:<model>/,
    );
    const twice = JSON.stringify([
      { name: "a", kind: "openai", baseUrl: "http://x" },
      { name: "a", kind: "tgi", baseUrl: "http://y" },
    ]);
    expect(problems({ GATEWAY_PROVIDERS: twice })).toMatch(/providers\.hosted\.1\.name: "a" is used twice/);
    expect(
      problems({
        GATEWAY_PROVIDERS: JSON.stringify([{ name: "engine", kind: "openai", baseUrl: "http://x" }]),
      }),
    ).toMatch(/providers\.hosted\.0\.name/);
  });

  it("fails start-up when a key's variable is unset, without printing any value", () => {
    const message = problems({
      GATEWAY_PROVIDERS: JSON.stringify([
        { name: "o", kind: "openai", baseUrl: "http://x", apiKeyEnv: "MISSING_KEY" },
      ]),
    });
    expect(message).toMatch(/providers\.hosted\.0\.apiKeyEnv: environment variable MISSING_KEY is not set/);
  });

  it("refuses two sources for one key", () => {
    const parsed = gatewayConfigSchema.safeParse({
      keyHashSecret: "0123456789abcdef0123",
      providers: {
        hosted: [{ name: "o", kind: "openai", baseUrl: "http://x", apiKey: "a", apiKeyEnv: "B" }],
      },
    });
    expect(parsed.success).toBe(false);
  });

  it("keeps secrets out of logs, JSON and inspection", () => {
    const secret = new Secret("sk-very-secret");
    expect(JSON.stringify({ secret })).not.toContain("sk-very");
    expect(inspect({ secret })).not.toContain("sk-very");
    expect(`${secret}`).toBe("[redacted]");
    expect(secret.reveal()).toBe("sk-very-secret");
  });
});
