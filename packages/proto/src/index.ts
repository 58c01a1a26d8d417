// Code generated from proto/ by `pnpm gen` lives in ./gen; this file only re-exports it.

export * as healthV1 from "./gen/grpc/health/v1/health_pb.js";
export * as gatewayAdminV1 from "./gen/strata/gateway/v1/admin_pb.js";
export * as gatewayEventsV1 from "./gen/strata/gateway/v1/events_pb.js";
export * as gatewayV1 from "./gen/strata/gateway/v1/gateway_pb.js";
export * as gatewayJobsV1 from "./gen/strata/gateway/v1/jobs_pb.js";
export * as routerV1 from "./gen/strata/router/v1/router_pb.js";
export * as routerSyncV1 from "./gen/strata/router/v1/sync_pb.js";
export * from "./subjects.js";
