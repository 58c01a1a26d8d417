export { type Clock, systemClock } from "./clock.js";
export {
  type EndpointConfig,
  endpointConfigSchema,
  type RouterConfig,
  type RouterConfigInput,
  routerConfigSchema,
  routerEnvMapping,
} from "./config.js";
export { loadRouterConfig } from "./config-source.js";
export { type RunDeps, type RunningRouter, run } from "./run.js";
