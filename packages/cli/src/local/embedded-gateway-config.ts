import { type GatewayConfig, gatewayEnv, parseGatewayConfig } from "@strata/gateway";
import { fromEnv } from "@strata/kit";
import { localEnv } from "./local-config.js";

type Settings = Record<string, unknown>;

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
  const unused: string[] = [];
  for (const owned of platformOwned) {
    for (const [path, variable] of Object.entries(gatewayEnv)) {
      if (path !== owned && !path.startsWith(`${owned}.`)) continue;
      if (!removePath(fromEnvironment, path)) continue;
      // GATEWAY_PORT and the like are read by the platform itself: used, just not here.
      if (!Object.values(localEnv).includes(variable)) unused.push(variable);
    }
  }
  const raw = overlay(
    overlay(overlay(input.defaults, fromEnvironment), input.platform),
    input.overrides ?? {},
  );
  return { config: parseGatewayConfig(raw, input.environment), unused };
}

/**
 * `over` laid on `base`: objects merge key by key, anything else (values, lists, JSON text from a
 * variable) replaces; undefined leaves the base as it is.
 */
export function overlay(base: Settings, over: Settings): Settings {
  const merged: Settings = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? overlay(current, value) : value;
  }
  return merged;
}

/** Deletes the value at a dotted path; whether there was one. */
function removePath(settings: Settings, path: string): boolean {
  const keys = path.split(".");
  let node: Settings = settings;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isPlainObject(next)) return false;
    node = next;
  }
  const last = keys.at(-1)!;
  if (!(last in node)) return false;
  delete node[last];
  return true;
}

function isPlainObject(value: unknown): value is Settings {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
