import type { Bus, Logger, Registry } from "@strata/kit";
import type { RouterConfig } from "../config.js";
import { BackgroundNatsBus } from "./background-nats-bus.js";
import { RouterSync } from "./router-sync.js";
import { createSyncMetrics } from "./sync-metrics.js";
import type { SyncTarget } from "./sync-target.js";

export interface StartSyncDeps {
  /** A bus to share over instead of connecting to `natsUrl`; its owner closes it. */
  bus?: Pick<Bus, "broadcast" | "subscribe">;
  target: SyncTarget;
  registry: Registry;
  logger: Logger;
}

export interface RouterSyncHandle {
  sync: RouterSync;
  /** Sends what is queued, stops listening and closes the NATS connection this handle opened. */
  close(): Promise<void>;
}

/**
 * The router's sync as configuration asks for it: none without `natsUrl` (or an injected bus) or with
 * `sync.enabled` false, so a lone router runs exactly as before. The NATS connection is made in the
 * background: start-up never waits for NATS.
 */
export function startRouterSync(
  config: Pick<RouterConfig, "natsUrl" | "sync">,
  deps: StartSyncDeps,
): RouterSyncHandle | undefined {
  if (!config.sync.enabled) return undefined;
  const owned =
    deps.bus === undefined && config.natsUrl !== undefined
      ? new BackgroundNatsBus({ url: config.natsUrl, name: "router", logger: deps.logger })
      : undefined;
  const bus = deps.bus ?? owned;
  if (bus === undefined) return undefined;
  const { replicaId, group, flushIntervalMs, maxBatch, maxPromptChars } = config.sync;
  const sync = new RouterSync({
    bus,
    target: deps.target,
    replicaId,
    group,
    flushIntervalMs,
    maxBatch,
    maxPromptChars,
    metrics: createSyncMetrics(deps.registry),
    logger: deps.logger,
  }).start();
  deps.logger.info({ replicaId: sync.replicaId, subject: sync.subject }, "sharing routing state with peers");
  return {
    sync,
    close: async () => {
      sync.close();
      await owned?.close();
    },
  };
}
