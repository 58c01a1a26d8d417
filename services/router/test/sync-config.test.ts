import { createMemoryBus, Registry, silentLogger } from "@strata/kit";
import { afterEach, describe, expect, it } from "vitest";
import { routerConfigSchema } from "../src/config.js";
import { loadRouterConfig } from "../src/config-source.js";
import { startRouterSync } from "../src/sync/start-sync.js";
import type { SyncTarget } from "../src/sync/sync-target.js";
import { configProblems } from "./support/config-problems.js";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const target: SyncTarget = { applyRouted: () => true, applyReported: () => true };

describe("router sync configuration", () => {
  it("runs alone by default and reads NATS_URL and ROUTER_SYNC_* variables", () => {
    const alone = loadRouterConfig({});
    expect(alone.natsUrl).toBeUndefined();
    expect(alone.sync).toEqual({
      enabled: true,
      group: "default",
      flushIntervalMs: 1,
      maxBatch: 64,
      maxPromptChars: 65_536,
    });
    const shared = loadRouterConfig({
      NATS_URL: "nats://nats.strata.svc:4222",
      ROUTER_SYNC_ENABLED: "off",
      ROUTER_SYNC_REPLICA_ID: "router-0",
      ROUTER_SYNC_GROUP: "prod-eu",
      ROUTER_SYNC_FLUSH_INTERVAL_MS: "0.5",
      ROUTER_SYNC_MAX_BATCH: "128",
      ROUTER_SYNC_MAX_PROMPT_CHARS: "8192",
    });
    expect(shared.natsUrl).toBe("nats://nats.strata.svc:4222");
    expect(shared.sync).toEqual({
      enabled: false,
      replicaId: "router-0",
      group: "prod-eu",
      flushIntervalMs: 0.5,
      maxBatch: 128,
      maxPromptChars: 8192,
    });
  });

  it("names the variable of a bad setting", () => {
    expect(
      configProblems(() =>
        loadRouterConfig({
          NATS_URL: "http://nats:4222",
          ROUTER_SYNC_GROUP: "a.b",
          ROUTER_SYNC_MAX_BATCH: "0",
          ROUTER_SYNC_ENABLED: "maybe",
        }),
      ),
    ).toEqual([
      "NATS_URL (natsUrl): must be a nats:// URL",
      "ROUTER_SYNC_ENABLED (sync.enabled): must be true or false",
      "ROUTER_SYNC_GROUP (sync.group): use letters, digits, _ and -",
      "ROUTER_SYNC_MAX_BATCH (sync.maxBatch): Too small: expected number to be >=1",
    ]);
  });

  it("starts a sync only with a bus or NATS URL and sync.enabled", () => {
    const deps = { target, registry: new Registry(), logger: silentLogger() };
    expect(startRouterSync(routerConfigSchema.parse({}), deps)).toBeUndefined();
    const bus = createMemoryBus();
    closers.push(() => bus.close());
    const disabled = routerConfigSchema.parse({ sync: { enabled: false } });
    expect(startRouterSync(disabled, { ...deps, bus })).toBeUndefined();
    const handle = startRouterSync(routerConfigSchema.parse({ sync: { replicaId: "r1", group: "g" } }), {
      ...deps,
      bus,
    });
    expect(handle).toBeDefined();
    closers.push(() => handle?.close());
    expect(handle!.sync.replicaId).toBe("r1");
    expect(handle!.sync.subject).toBe("strata.router.v1.sync.g");
  });
});
