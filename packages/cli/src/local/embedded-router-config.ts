import {
  parseRouterConfig,
  type RouterConfig,
  routerEnvMapping,
  routerSettingsFromEnv,
} from "@strata/router";
import { dropPlatformOwned, type EmbeddedSettingsInput, isOwned, layerSettings } from "./settings-layers.js";

/**
 * Router settings the embedded platform decides itself, by config path (a section name covers the
 * whole section): where it listens (the gateway is wired to that address; the port comes from the
 * platform's own settings, which read the same ROUTER_GRPC_PORT), the engine-sim endpoints it starts,
 * its log level (LOG_LEVEL, as for every embedded service), and no peers: its endpoint ids (sim-0…)
 * are this process's own and would clash with another platform's routers on a shared NATS.
 */
const platformOwned = ["grpc", "endpoints", "natsUrl", "sync", "logLevel"] as const;

const configFile = "ROUTER_CONFIG_FILE";

/**
 * The environment is read as the standalone router reads it (`routerEnvMapping`, ROUTER_CONFIG_FILE);
 * `platform` holds the settings in `platformOwned`; `overrides` is `LocalOverrides.router`.
 */
export interface EmbeddedRouterConfigInput extends EmbeddedSettingsInput {
  /** Reads the file ROUTER_CONFIG_FILE names. */
  readFile?: (path: string) => string;
}

export interface EmbeddedRouterConfig {
  config: RouterConfig;
  /** Variables (or the config file's settings) the platform decides itself, so they have no effect. */
  unused: string[];
}

/**
 * The embedded router's configuration: the environment read exactly as the standalone router reads
 * it (its variables over ROUTER_CONFIG_FILE, one validation), between the platform's defaults and the
 * settings it owns. A bad value throws a ConfigError naming the variable or the file.
 */
export function embeddedRouterConfig(input: EmbeddedRouterConfigInput): EmbeddedRouterConfig {
  const fromEnvironment = routerSettingsFromEnv(input.environment, input.readFile);
  const owned = {
    paths: platformOwned,
    mapping: routerEnvMapping,
    otherSource: (path: string) => `${configFile} (${path})`,
  };
  const unused = dropPlatformOwned(fromEnvironment, owned, input.environment);
  // Errors name a setting after the variable that set it; the platform's own values came from none.
  const environment = { ...input.environment };
  for (const [path, variable] of Object.entries(routerEnvMapping))
    if (isOwned(platformOwned, path)) delete environment[variable];
  return { config: parseRouterConfig(layerSettings(input, fromEnvironment), environment), unused };
}
