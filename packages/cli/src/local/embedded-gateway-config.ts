import { type GatewayConfig, gatewayEnv, parseGatewayConfig } from "@strata/gateway";
import { fromEnv } from "@strata/kit";
import { dropPlatformOwned, type EmbeddedSettingsInput, layerSettings } from "./settings-layers.js";

/**
 * Gateway settings the embedded platform decides itself, by config path (a section name covers the
 * whole section): it runs its own router, and keeps its admin token in its home folder where the
 * `strata` admin commands find it. The ports come from the platform's own settings, which read the
 * same GATEWAY_PORT and GATEWAY_GRPC_PORT.
 */
const platformOwned = ["http.port", "grpc.port", "routerAddress", "admin"] as const;

export interface EmbeddedGatewayConfig {
  config: GatewayConfig;
  /** Variables set in the environment that the platform decides itself, so they have no effect. */
  unused: string[];
}

/**
 * The embedded gateway's configuration: the environment read exactly as the standalone gateway reads
 * it (one mapping, one validation, provider keys by `apiKeyEnv`), between the platform's defaults and
 * the settings it owns (`platform` also carries its own choices: log level, Redis; `overrides` is
 * `LocalOverrides.gateway`). A bad value throws a ConfigError naming the variable.
 */
export function embeddedGatewayConfig(input: EmbeddedSettingsInput): EmbeddedGatewayConfig {
  const fromEnvironment = fromEnv(input.environment, gatewayEnv);
  const owned = { paths: platformOwned, mapping: gatewayEnv };
  const unused = dropPlatformOwned(fromEnvironment, owned, input.environment);
  return { config: parseGatewayConfig(layerSettings(input, fromEnvironment), input.environment), unused };
}
