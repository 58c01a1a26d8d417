import { type EngineSim, startEngineSim } from "@strata/engine-sim";
import { ConfigError } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThrowawayPlatform, type ThrowawayPlatform } from "../src/index.js";
import { embeddedGatewayConfig } from "../src/local/embedded-gateway-config.js";
import { loadLocalConfig } from "../src/local/local-config.js";

type Json = any;

const platformSettings = {
  defaults: { opsPort: 0, keyHashSecret: "platform-key-hash-secret-0123456789" },
  platform: {
    http: { port: 8080 },
    grpc: { port: 50051 },
    routerAddress: "127.0.0.1:50061",
    admin: { token: "platform-admin-token-0123456789" },
    logLevel: "silent",
  },
};

const hostedProviders = (baseUrl: string) =>
  JSON.stringify([{ name: "hosted", kind: "openai", baseUrl, apiKeyEnv: "HOSTED_API_KEY", maxRetries: 0 }]);

describe("the embedded gateway's settings from the environment", () => {
  it("reads the standalone gateway's variables, keeping the platform's ports, router and admin token", () => {
    const { config, unused } = embeddedGatewayConfig({
      ...platformSettings,
      environment: {
        GATEWAY_PROVIDERS: hostedProviders("https://llm.example.com/v1"),
        HOSTED_API_KEY: "sk-hosted",
        GATEWAY_MODEL_ALIASES: '{"chat-hosted": ["hosted:gpt-4o", "engine:strata-sim"]}',
        GATEWAY_PRICING: '{"gpt-4o": {"input": 2.5, "output": 10}}',
        GATEWAY_LIMIT_KEY_RPM: "600",
        GATEWAY_MAX_BODY_BYTES: "1234",
        GATEWAY_OPS_PORT: "9999",
        GATEWAY_PORT: "9000",
        GATEWAY_ROUTER_ADDRESS: "10.0.0.1:50061",
        GATEWAY_ADMIN_TOKEN_FILE: "/run/secrets/admin-token",
        PATH: "/usr/bin",
      },
    });
    expect(config.providers.hosted).toEqual([
      expect.objectContaining({ name: "hosted", baseUrl: "https://llm.example.com/v1", apiKey: "sk-hosted" }),
    ]);
    expect(config.providers.aliases).toEqual({ "chat-hosted": ["hosted:gpt-4o", "engine:strata-sim"] });
    expect(config.pricing).toEqual({ "gpt-4o": { input: 2.5, output: 10 } });
    expect(config.limits.key.requestsPerMinute).toBe(600);
    expect(config.http).toMatchObject({ maxBodyBytes: 1234, port: 8080 });
    // A variable wins over the platform's defaults, never over what the platform decides.
    expect(config.opsPort).toBe(9999);
    expect(config.routerAddress).toBe("127.0.0.1:50061");
    expect(config.admin).toEqual({ token: "platform-admin-token-0123456789" });
    expect(config.keyHashSecret).toBe("platform-key-hash-secret-0123456789");
    // GATEWAY_PORT is the platform's own setting too, so it is used, just not from here.
    expect(unused.sort()).toEqual(["GATEWAY_ADMIN_TOKEN_FILE", "GATEWAY_ROUTER_ADDRESS"]);
  });

  it("lays test overrides over the environment and defaults under it", () => {
    const { config, unused } = embeddedGatewayConfig({
      ...platformSettings,
      environment: {
        GATEWAY_MAX_BODY_BYTES: "1234",
        GATEWAY_KEY_HASH_SECRET: "from-the-environment-0123456789",
      },
      overrides: { http: { host: "127.0.0.1", maxBodyBytes: 64 } },
    });
    expect(config.http).toEqual({ host: "127.0.0.1", port: 8080, maxBodyBytes: 64 });
    expect(config.opsPort).toBe(0);
    expect(config.keyHashSecret).toBe("from-the-environment-0123456789");
    expect(unused).toEqual([]);
  });

  it("fails naming the variable, as the standalone gateway does", () => {
    const failure = (environment: Record<string, string>) => {
      try {
        embeddedGatewayConfig({ ...platformSettings, environment });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(failure({ GATEWAY_PROVIDERS: "[{" })).toContain(
      "GATEWAY_PROVIDERS (providers.hosted): not valid JSON",
    );
    expect(failure({ GATEWAY_PROVIDERS: hostedProviders("https://llm.example.com/v1") })).toContain(
      "environment variable HOSTED_API_KEY is not set",
    );
    expect(failure({ GATEWAY_MODEL_ALIASES: '{"x": ["nowhere:gpt-4o"]}' })).toContain(
      'unknown provider "nowhere"',
    );
  });

  it("carries the process environment in the local config", () => {
    const config = loadLocalConfig({ GATEWAY_PROVIDERS: "[]", ENGINE_SIM_REPLICAS: "2", UNSET: undefined });
    expect(config.engineReplicas).toBe(2);
    expect(config.environment).toEqual({ GATEWAY_PROVIDERS: "[]", ENGINE_SIM_REPLICAS: "2" });
  });
});

describe("strata up in front of a hosted provider named by the environment", () => {
  let hosted: EngineSim;
  let platform: ThrowawayPlatform;

  beforeAll(async () => {
    // engine-sim's OpenAI-compatible API (vLLM's), behind an API key, standing in for a hosted provider.
    hosted = await startEngineSim({
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      model: "sim-hosted",
      apiKey: "sk-hosted-test",
      decodeMsPerToken: 1,
    });
    platform = await startThrowawayPlatform({
      prefix: "strata-cli-env-",
      settings: {
        // No simulated engines: every answer must come from the hosted provider.
        engineReplicas: 0,
        environment: {
          GATEWAY_PROVIDERS: hostedProviders(`${hosted.url}/v1`),
          HOSTED_API_KEY: "sk-hosted-test",
          GATEWAY_MODEL_ALIASES: '{"chat-hosted": ["hosted:sim-hosted"]}',
          GATEWAY_PRICING: '{"sim-hosted": {"input": 1000, "output": 2000}}',
        },
      },
      overrides: { gateway: { http: { host: "127.0.0.1" } } },
    });
  });
  afterAll(async () => {
    await platform?.close();
    await hosted?.close();
  });

  it("routes an alias from GATEWAY_MODEL_ALIASES to the provider from GATEWAY_PROVIDERS, priced by GATEWAY_PRICING", async () => {
    const response = await fetch(`${platform.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${platform.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat-hosted",
        messages: [{ role: "user", content: "Hello!" }],
        max_tokens: 4,
      }),
    });
    const body = (await response.json()) as Json;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(response.headers.get("x-strata-route")).toBe("provider=hosted; model=sim-hosted");
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);

    const models = await fetch(`${platform.gatewayUrl}/v1/models`, {
      headers: { authorization: `Bearer ${platform.apiKey}` },
    });
    expect(((await models.json()) as Json).data.map((model: Json) => model.id)).toContain("chat-hosted");

    let row: Json;
    await eventually(
      async () => {
        const result = await platform.database.query(
          "SELECT provider, served_model, cost_usd, prompt_tokens FROM gateway.usage_ledger WHERE request_id = $1",
          [response.headers.get("x-request-id")],
        );
        row = result.rows[0];
        expect(row).toBeDefined();
      },
      { timeoutMs: 15_000 },
    );
    expect(row).toMatchObject({ provider: "hosted", served_model: "sim-hosted" });
    expect(row.cost_usd).toBeCloseTo(
      (body.usage.prompt_tokens * 1_000 + body.usage.completion_tokens * 2_000) / 1_000_000,
      12,
    );
  });
});
