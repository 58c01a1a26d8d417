/**
 * Model routing from its own file, through run(): a valid edit takes effect without a restart, a bad
 * one is logged with the path of the bad field, counted, and leaves the running configuration alone.
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, createGrpcClient, createLogger, Registry } from "@strata/kit";
import { eventually } from "@strata/kit/testing";
import { routerV1 } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, run } from "../src/index.js";
import { FakeEngine } from "./support/fake-engine.js";

const within = { timeoutMs: 10_000, intervalMs: 25 };

/** Log records as objects, for asserting on what an operator would read. */
function recordingLogger() {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: "router-test",
    level: "info",
    destination: { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, records };
}

const routing = (tierModel: string) =>
  JSON.stringify({ tiers: { fast: { model: tierModel } }, aliases: { default: "fast" } });

/** Writes the way editors and ConfigMap updates do: a new file renamed over the old one. */
function replaceFile(path: string, contents: string): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

describe("model routing file reload", () => {
  const small = new FakeEngine("small-model");
  const large = new FakeEngine("large-model");
  const registry = new Registry();
  const { logger, records } = recordingLogger();
  const file = join(mkdtempSync(join(tmpdir(), "strata-models-")), "models.json");
  let router: RunningRouter;
  let client: ReturnType<typeof createGrpcClient<typeof routerV1.RouterService>>;
  let sequence = 0;

  const endpoints = () => [
    { id: "small", url: small.url, model: "small-model" },
    { id: "large", url: large.url, model: "large-model" },
  ];
  const servedFor = async (model: string) => {
    const routed = await client.route({ requestId: `m-${++sequence}`, model });
    await client.report({ requestId: `m-${sequence}`, outcome: routerV1.Outcome.SUCCESS });
    return routed;
  };
  const reloads = async (result: string) => {
    const text = await (await fetch(`http://127.0.0.1:${router.opsPort}/metrics`)).text();
    const line = text
      .split("\n")
      .find((entry) => entry.startsWith(`strata_router_models_reloads_total{result="${result}"}`));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };

  beforeAll(async () => {
    await Promise.all([small.start(), large.start()]);
    writeFileSync(file, routing("small-model"));
    router = await run(
      {
        grpc: { host: "127.0.0.1", port: 0 },
        ops: { port: 0 },
        endpoints: endpoints(),
        modelsFile: file,
        health: { intervalMs: 100 },
      },
      { logger, registry },
    );
    client = createGrpcClient(routerV1.RouterService, `127.0.0.1:${router.grpcPort}`);
  });

  afterAll(async () => {
    client?.close();
    await router?.close();
    await Promise.all([small.stop(), large.stop()]);
  });

  it("applies a valid edit without a restart", async () => {
    const before = await servedFor("default");
    expect(before.endpoint!.servedModel).toBe("small-model");
    expect(before.modelReason).toBe('alias "default" → tier "fast"');
    replaceFile(file, routing("large-model"));
    await eventually(
      async () => expect((await servedFor("default")).endpoint!.servedModel).toBe("large-model"),
      within,
    );
    expect(await reloads("applied")).toBe(1);
    expect(records.some((record) => record.msg === "model routing reloaded" && record.file === file)).toBe(
      true,
    );
  });

  it("rejects a bad edit, naming the file and the bad field, and keeps routing by the last good one", async () => {
    replaceFile(
      file,
      JSON.stringify({ tiers: { fast: { model: "large-model" } }, aliases: { default: "fats" } }),
    );
    await eventually(async () => expect(await reloads("invalid")).toBe(1), within);
    const rejected = records.find(
      (record) => record.msg === "model routing file rejected; keeping the running configuration",
    );
    expect(rejected).toMatchObject({
      level: 50,
      file,
      errors: ['models.aliases.default: model "fats" is not served by any endpoint'],
    });
    expect((await servedFor("default")).endpoint!.servedModel).toBe("large-model");

    replaceFile(file, "{ not json");
    await eventually(async () => expect(await reloads("invalid")).toBe(2), within);
    expect((await servedFor("default")).endpoint!.servedModel).toBe("large-model");

    // A good file after bad ones is applied as usual.
    replaceFile(file, routing("small-model"));
    await eventually(
      async () => expect((await servedFor("default")).endpoint!.servedModel).toBe("small-model"),
      within,
    );
  });

  it("refuses to start on a bad file, naming it and the field", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "strata-models-")), "bad.json");
    writeFileSync(bad, JSON.stringify({ routes: { auto: { default: "nope" } } }));
    const started = run(
      { grpc: { host: "127.0.0.1", port: 0 }, ops: { port: 0 }, endpoints: endpoints(), modelsFile: bad },
      { logger: createLogger({ service: "router-test", level: "silent" }), registry: new Registry() },
    );
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toMatchObject({
      problems: [`${bad}: models.routes.auto.default: unknown tier "nope"`],
    });
    const notJson = join(mkdtempSync(join(tmpdir(), "strata-models-")), "broken.json");
    writeFileSync(notJson, "{ not json");
    const broken = run(
      { grpc: { host: "127.0.0.1", port: 0 }, ops: { port: 0 }, endpoints: endpoints(), modelsFile: notJson },
      { logger: createLogger({ service: "router-test", level: "silent" }), registry: new Registry() },
    );
    // The file is named once, with the variable that sets it.
    await expect(broken).rejects.toMatchObject({
      problems: [expect.stringMatching(/^ROUTER_MODELS_FILE \(\/.*broken\.json\): not valid JSON: /)],
    });
  });
});
