import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, createLogger } from "@strata/kit";
import { freePort } from "@strata/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startThrowawayPlatform, type ThrowawayPlatform } from "../src/index.js";
import { embeddedRouterConfig } from "../src/local/embedded-router-config.js";

type Json = any;

const simEndpoint = { id: "sim-0", url: "http://127.0.0.1:8001", model: "strata-sim" };
const platformSettings = {
  defaults: { ops: { port: 0 } },
  platform: {
    grpc: { host: "127.0.0.1", port: 50061 },
    endpoints: [simEndpoint],
    logLevel: "silent",
  },
};
const ghostEndpoints = JSON.stringify([{ id: "ghost", url: "http://127.0.0.1:9/", model: "ghost-model" }]);

describe("the embedded router's settings from the environment", () => {
  it("reads the standalone router's variables, keeping the platform's address, endpoints, log level and peers", () => {
    const { config, unused } = embeddedRouterConfig({
      ...platformSettings,
      environment: {
        ROUTER_DEFAULT_STRATEGY: "least-load",
        ROUTER_HEALTH_INTERVAL_MS: "500",
        ROUTER_WEIGHT_WAITING: "3",
        ROUTER_OUTLIER_DETECTION_ENABLED: "false",
        ROUTER_OPS_PORT: "9999",
        ROUTER_GRPC_PORT: "7000",
        ROUTER_GRPC_HOST: "0.0.0.0",
        ROUTER_ENDPOINTS: ghostEndpoints,
        ROUTER_LOG_LEVEL: "debug",
        ROUTER_SYNC_GROUP: "elsewhere",
        NATS_URL: "nats://127.0.0.1:4222",
        PATH: "/usr/bin",
      },
    });
    expect(config.routing.defaultStrategy).toBe("least-load");
    expect(config.health.intervalMs).toBe(500);
    expect(config.weights.waiting).toBe(3);
    expect(config.outlierDetection.enabled).toBe(false);
    // A variable wins over the platform's defaults, never over what the platform decides.
    expect(config.ops.port).toBe(9999);
    expect(config.grpc).toEqual({ host: "127.0.0.1", port: 50061 });
    expect(config.endpoints).toEqual([expect.objectContaining(simEndpoint)]);
    expect(config.logLevel).toBe("silent");
    expect(config.natsUrl).toBeUndefined();
    expect(config.sync.group).toBe("default");
    // ROUTER_GRPC_PORT and NATS_URL are the platform's own settings too: used, just not from here.
    expect(unused.sort()).toEqual([
      "ROUTER_ENDPOINTS",
      "ROUTER_GRPC_HOST",
      "ROUTER_LOG_LEVEL",
      "ROUTER_SYNC_GROUP",
    ]);
  });

  it("reads ROUTER_CONFIG_FILE under the variables, and lays test overrides over everything", () => {
    const files: Record<string, string> = {
      "/etc/strata/router.json": JSON.stringify({
        routing: { defaultStrategy: "round-robin" },
        health: { timeoutMs: 250 },
        models: { aliases: { "fast-chat": "strata-sim" } },
        grpc: { host: "0.0.0.0" },
        endpoints: JSON.parse(ghostEndpoints),
      }),
    };
    const { config, unused } = embeddedRouterConfig({
      ...platformSettings,
      environment: { ROUTER_CONFIG_FILE: "/etc/strata/router.json", ROUTER_DEFAULT_STRATEGY: "prefix-hash" },
      readFile: (path) => files[path] ?? "",
      overrides: { health: { intervalMs: 200 } },
    });
    expect(config.routing.defaultStrategy).toBe("prefix-hash");
    expect(config.health).toMatchObject({ timeoutMs: 250, intervalMs: 200 });
    expect(config.models.aliases).toEqual({ "fast-chat": "strata-sim" });
    expect(config.grpc.host).toBe("127.0.0.1");
    expect(config.endpoints.map((endpoint) => endpoint.id)).toEqual(["sim-0"]);
    expect(unused.sort()).toEqual(["ROUTER_CONFIG_FILE (endpoints)", "ROUTER_CONFIG_FILE (grpc.host)"]);
  });

  it("fails naming the variable or the file, as the standalone router does", () => {
    const failure = (environment: Record<string, string>, readFile?: (path: string) => string) => {
      try {
        embeddedRouterConfig({ ...platformSettings, environment, ...(readFile ? { readFile } : {}) });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(failure({ ROUTER_DEFAULT_STRATEGY: "fastest" })).toContain(
      'ROUTER_DEFAULT_STRATEGY (routing.defaultStrategy): unknown strategy "fastest"',
    );
    expect(failure({ ROUTER_HEALTH_INTERVAL_MS: "-5" })).toContain(
      "ROUTER_HEALTH_INTERVAL_MS (health.intervalMs)",
    );
    expect(failure({ ROUTER_CONFIG_FILE: "/nowhere.json" }, () => "{")).toContain(
      "ROUTER_CONFIG_FILE (/nowhere.json): cannot read JSON",
    );
    // A bad value of a setting the platform decides is never read, so it cannot fail the start.
    expect(
      embeddedRouterConfig({ ...platformSettings, environment: { ROUTER_ENDPOINTS: "[{" } }).unused,
    ).toEqual(["ROUTER_ENDPOINTS"]);
  });
});

describe("strata up with the router's variables", () => {
  let folder: string;
  let opsPort: number;
  let platform: ThrowawayPlatform;
  const records: Json[] = [];

  const chat = (model: string) =>
    fetch(`${platform.gatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${platform.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Hello!" }], max_tokens: 4 }),
    });

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "strata-cli-router-env-"));
    const configFile = join(folder, "router.json");
    await writeFile(configFile, JSON.stringify({ models: { aliases: { "fast-chat": "strata-sim" } } }));
    opsPort = await freePort();
    platform = await startThrowawayPlatform({
      prefix: "strata-cli-router-env-",
      settings: {
        engineReplicas: 1,
        environment: {
          ROUTER_CONFIG_FILE: configFile,
          ROUTER_OPS_PORT: String(opsPort),
          ROUTER_ENDPOINTS: ghostEndpoints,
          ROUTER_GRPC_HOST: "0.0.0.0",
        },
      },
      overrides: { engine: { decodeMsPerToken: 1 }, gateway: { http: { host: "127.0.0.1" } } },
      logger: createLogger({
        service: "strata",
        level: "warn",
        destination: { write: (line: string) => records.push(JSON.parse(line)) },
      }),
    });
  });
  afterAll(async () => {
    await platform?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it("routes by ROUTER_CONFIG_FILE's model aliases and serves /metrics on ROUTER_OPS_PORT", async () => {
    const response = await chat("fast-chat");
    const body = (await response.json()) as Json;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);

    const metrics = await fetch(`http://127.0.0.1:${opsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("strata_router_");
  });

  it("warns about the variables the platform decides itself, and keeps its own endpoints", async () => {
    expect(records).toContainEqual(
      expect.objectContaining({
        msg: expect.stringContaining("the local platform sets its router's address, endpoints"),
        variables: expect.arrayContaining(["ROUTER_ENDPOINTS", "ROUTER_GRPC_HOST"]),
      }),
    );
    const ghost = await chat("ghost-model");
    expect(ghost.status).toBe(404);
    expect(((await ghost.json()) as Json).error.code).toBe("model_not_found");
  });
});
