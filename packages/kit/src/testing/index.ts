export { findBinary } from "./find-binary.js";
export { freePort, waitForPort } from "./free-port.js";
export {
  findKubeBinaries,
  type KubeApiServerHandle,
  type KubeApiServerOptions,
  kubeToolsDir,
  startKubeApiServer,
} from "./kube-api-server.js";
export { findPostgresBinDir, type NativePostgresHandle, startNativePostgres } from "./native-postgres.js";
export { type NatsServerHandle, startNatsServer } from "./nats-server.js";
export { type RedisServerHandle, startRedisServer } from "./redis-server.js";
export { eventually, sleep, waitFor } from "./wait-for.js";
