import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  Counter,
  createLogger,
  createMetricsRegistry,
  Lifecycle,
  silentLogger,
  startOpsServer,
} from "../src/index.js";

describe("ops server", () => {
  it("serves /metrics from every registry, /healthz, and /readyz from the readiness check", async () => {
    const registry = createMetricsRegistry("svc", { processMetrics: false });
    new Counter({ name: "strata_svc_things_total", help: "things", registers: [registry] }).inc(3);
    let ready = false;
    const ops = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      registries: [registry],
      logger: silentLogger(),
      readiness: () => ready,
    });
    const base = `http://127.0.0.1:${ops.port}`;
    try {
      expect(await (await fetch(`${base}/metrics`)).text()).toContain(
        'strata_svc_things_total{service="svc"} 3',
      );
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});

describe("logging", () => {
  it("writes JSON records with the service name and never the secrets", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ service: "gateway", destination });
    logger.info(
      { headers: { authorization: "Bearer sk-strata-secret" }, apiKey: "sk-strata-secret", model: "m" },
      "request",
    );
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({ service: "gateway", msg: "request", model: "m", apiKey: "[redacted]" });
    expect(lines[0]).not.toContain("sk-strata-secret");
  });
});

describe("lifecycle", () => {
  it("closes in reverse order, once, and carries on past a failing step", async () => {
    const closed: string[] = [];
    const lifecycle = new Lifecycle(silentLogger());
    lifecycle.add("database", () => {
      closed.push("database");
    });
    lifecycle.add("broken", () => {
      throw new Error("boom");
    });
    lifecycle.add("server", async () => {
      closed.push("server");
    });
    await Promise.all([lifecycle.close(), lifecycle.close()]);
    expect(closed).toEqual(["server", "database"]);
  });
});
