export { BackgroundNatsBus, type BackgroundNatsBusOptions } from "./background-nats-bus.js";
export { defaultReplicaId, RouterSync, type RouterSyncOptions } from "./router-sync.js";
export { type RouterSyncHandle, type StartSyncDeps, startRouterSync } from "./start-sync.js";
export { decodeBatch, encodeBatch, type SyncEntry } from "./sync-codec.js";
export { type SyncConfig, syncConfigSchema } from "./sync-config.js";
export { createSyncMetrics, type SyncDropReason, type SyncMetrics } from "./sync-metrics.js";
export { type RouterSyncTargetDeps, routerSyncTarget, type SyncTarget } from "./sync-target.js";
