import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "../src/config-source.js";
import { configProblems } from "./support/config-problems.js";

const endpoints = JSON.stringify([
  { id: "a", url: "http://10.0.0.7:8000", model: "llama", aliases: ["default"] },
  { id: "b", url: "http://10.0.0.8:80", model: "qwen", api: "tgi" },
]);

describe("loadRouterConfig", () => {
  it("applies defaults and reads endpoints from ROUTER_ENDPOINTS", () => {
    const config = loadRouterConfig({ ROUTER_ENDPOINTS: endpoints });
    expect(config.grpc).toEqual({ host: "0.0.0.0", port: 50061 });
    expect(config.ops.port).toBe(9461);
    expect(config.health).toMatchObject({ intervalMs: 2000, timeoutMs: 1000, unhealthyAfterFailures: 2 });
    expect(config.health.unhealthyAfterConnectErrors).toBe(3);
    expect(config.inFlight.timeoutMs).toBe(600_000);
    expect(config.weights).toEqual({ inFlight: 1, waiting: 1, running: 1 });
    expect(config.endpoints[0]).toEqual({
      id: "a",
      url: "http://10.0.0.7:8000",
      model: "llama",
      api: "openai",
      aliases: ["default"],
      adapters: [],
    });
    expect(config.endpoints[1]!.api).toBe("tgi");
  });

  it("strips trailing slashes from endpoint URLs so API paths can be appended", () => {
    const list = JSON.stringify([{ id: "a", url: "http://10.0.0.7:8000/prefix//", model: "m" }]);
    expect(loadRouterConfig({ ROUTER_ENDPOINTS: list }).endpoints[0]!.url).toBe(
      "http://10.0.0.7:8000/prefix",
    );
  });

  it("coerces numeric variables", () => {
    const config = loadRouterConfig({ ROUTER_HEALTH_INTERVAL_MS: "500", ROUTER_WEIGHT_WAITING: "2.5" });
    expect(config.health.intervalMs).toBe(500);
    expect(config.weights.waiting).toBe(2.5);
  });

  it("names the variable and index of a bad endpoint URL", () => {
    const bad = JSON.stringify([{ id: "a", url: "ftp://x", model: "m" }]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_ENDPOINTS: bad }))).toEqual([
      "ROUTER_ENDPOINTS[0].url (endpoints.0.url): must be an http(s) URL",
    ]);
  });

  it("rejects duplicate endpoint ids", () => {
    const duplicate = JSON.stringify([
      { id: "a", url: "http://x:1", model: "m" },
      { id: "a", url: "http://y:1", model: "m" },
    ]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_ENDPOINTS: duplicate }))).toEqual([
      'ROUTER_ENDPOINTS[1].id (endpoints.1.id): duplicate endpoint id "a"',
    ]);
  });

  it("rejects an alias that would name two models", () => {
    const ambiguous = JSON.stringify([
      { id: "a", url: "http://x:1", model: "m1", aliases: ["default"] },
      { id: "b", url: "http://y:1", model: "m2", aliases: ["default"] },
    ]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_ENDPOINTS: ambiguous }))[0]).toContain(
      'alias "default" names more than one model',
    );
  });

  it("rejects invalid JSON, unknown fields and bad numbers, naming the setting", () => {
    expect(configProblems(() => loadRouterConfig({ ROUTER_ENDPOINTS: "[{" }))[0]).toMatch(
      /^ROUTER_ENDPOINTS \(endpoints\): not valid JSON/,
    );
    const extra = JSON.stringify([{ id: "a", url: "http://x:1", model: "m", weight: 3 }]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_ENDPOINTS: extra }))[0]).toMatch(
      /^ROUTER_ENDPOINTS\[0\] .*weight/,
    );
    expect(configProblems(() => loadRouterConfig({ ROUTER_GRPC_PORT: "70000" }))[0]).toMatch(
      /^ROUTER_GRPC_PORT \(grpc.port\)/,
    );
  });

  it("reads switches the same way in every section, naming a bad one", () => {
    const config = loadRouterConfig({
      ROUTER_OUTLIER_DETECTION_ENABLED: "Off",
      ROUTER_SYNC_ENABLED: "no",
      ROUTER_KUBERNETES_ENABLED: "false",
    });
    expect([config.outlierDetection.enabled, config.sync.enabled, config.kubernetes.enabled]).toEqual([
      false,
      false,
      false,
    ]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_OUTLIER_DETECTION_ENABLED: "sometimes" }))).toEqual(
      ["ROUTER_OUTLIER_DETECTION_ENABLED (outlierDetection.enabled): must be true or false"],
    );
  });

  it("reads a config file, a bare endpoint list, and lets variables override the file", () => {
    const files: Record<string, string> = {
      "/etc/router.json": JSON.stringify({ endpoints: JSON.parse(endpoints), health: { intervalMs: 750 } }),
      "/etc/list.json": endpoints,
    };
    const read = (path: string) => files[path] ?? "";
    const full = loadRouterConfig(
      { ROUTER_CONFIG_FILE: "/etc/router.json", ROUTER_HEALTH_TIMEOUT_MS: "300" },
      read,
    );
    expect(full.health).toMatchObject({ intervalMs: 750, timeoutMs: 300 });
    expect(full.endpoints.map((endpoint) => endpoint.id)).toEqual(["a", "b"]);
    expect(loadRouterConfig({ ROUTER_CONFIG_FILE: "/etc/list.json" }, read).endpoints).toHaveLength(2);
  });

  it("names the file when its content is wrong", () => {
    const read = () => JSON.stringify([{ id: "a", url: "not a url", model: "m" }]);
    expect(configProblems(() => loadRouterConfig({ ROUTER_CONFIG_FILE: "/x.json" }, read))[0]).toMatch(
      /^ROUTER_CONFIG_FILE\[0\]\.url/,
    );
    expect(configProblems(() => loadRouterConfig({ ROUTER_CONFIG_FILE: "/x.json" }, () => "{"))[0]).toMatch(
      /^ROUTER_CONFIG_FILE \(\/x.json\): cannot read JSON/,
    );
  });
});
