export { type LocalConfig, loadLocalConfig, localConfigSchema } from "./local/local-config.js";
export { type LocalOverrides, type LocalPlatform, startLocal } from "./local/start-local.js";
export {
  startThrowawayPlatform,
  type ThrowawayPlatform,
  type ThrowawayPlatformOptions,
} from "./local/throwaway-platform.js";
