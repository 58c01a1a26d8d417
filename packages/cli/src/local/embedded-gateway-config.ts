import { type GatewayConfig, gatewayEnv, parseGatewayConfig } from "@strata/gateway";
import { fromEnv } from "@strata/kit";
import { dropPlatformOwned, overlay, type Settings } from "./settings-layers.js";

/**
 * Gateway settings the embedded platform decides itself, by config path (a section name covers the
 * whole section): it runs its own router, and keeps its admin token in its home folder where the
 * `strata` admin commands find it. The ports come from the platform's own settings, which read the
 * same GATEWAY_PORT and GATEWAY_GRPC_PORT.
 */
const platformOwned = ["http.port", "grpc.port", "routerAddress", "admin"] as const;

export interface EmbeddedGatewayConfigInput {
  /** The environment, read through the standalone gateway's own mapping (`gatewayEnv`). */
  environment: Record<string, string | undefined>;
  /** Under the environment: what the platform picks unless a variable says otherwise. */
  defaults: Settings;
  /** Over the environment: the settings in `platformOwned`, and the platform's own (log level, Redis). */
  platform: Settings;
  /** Over everything: what a test or benchmark sets (`LocalOverrides.gateway`). */
  overrides?: Settings | undefined;
}

export interface EmbeddedGatewayConfig {
  config: GatewayConfig;
  /** Variables set in the environment that the platform decides itself, so they have no effect. */
  unused: string[];
}

/**
 * The embedded gateway's configuration: the environment read exactly as the standalone gateway reads
 * it (one mapping, one validation, provider keys by `apiKeyEnv`), between the platform's defaults and
 * the settings it owns. A bad value throws a ConfigError naming the variable.
 */
export function embeddedGatewayConfig(input: EmbeddedGatewayConfigInput): EmbeddedGatewayConfig {
  const fromEnvironment = fromEnv(input.environment, gatewayEnv);
  const owned = { paths: platformOwned, mapping: gatewayEnv };
  const unused = dropPlatformOwned(fromEnvironment, owned, input.environment);
  const raw = overlay(
    overlay(overlay(input.defaults, fromEnvironment), input.platform),
    input.overrides ?? {},
  );
  return { config: parseGatewayConfig(raw, input.environment), unused };
}
