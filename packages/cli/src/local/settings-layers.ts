import { localEnv } from "./local-config.js";

/** Raw settings of an embedded service by config path, before its schema validates them. */
export type Settings = Record<string, unknown>;

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

/** What the platform gives an embedded service's configuration, besides its environment. */
export interface EmbeddedSettingsInput {
  /** The environment, read as the standalone service reads it. */
  environment: Record<string, string | undefined>;
  /** Under the environment: what the platform picks unless a variable says otherwise. */
  defaults: Settings;
  /** Over the environment: the settings the platform owns, and its own choices. */
  platform: Settings;
  /** Over everything: what a test or benchmark sets (`LocalOverrides`). */
  overrides?: Settings | undefined;
}

/** The layers, lowest first: defaults, the environment's settings, the platform's, the overrides. */
export function layerSettings(input: EmbeddedSettingsInput, fromEnvironment: Settings): Settings {
  return overlay(overlay(overlay(input.defaults, fromEnvironment), input.platform), input.overrides ?? {});
}

/** Whether `path` is one of `paths` or lies under one (a section name covers the whole section). */
export function isOwned(paths: readonly string[], path: string): boolean {
  return paths.some((owned) => path === owned || path.startsWith(`${owned}.`));
}

export interface PlatformOwned {
  /** Config paths the platform decides itself; a section name covers the whole section. */
  paths: readonly string[];
  /** The standalone service's environment variables by config path. */
  mapping: Readonly<Record<string, string>>;
  /** Names what set a value no variable set (a config file the service reads), by its path. */
  otherSource?: (path: string) => string;
}

/**
 * Deletes from `settings` (what the environment gave an embedded service) the values at the paths the
 * platform decides, and returns where they came from so the platform can say they have no effect.
 * Variables the platform reads itself (GATEWAY_PORT, ROUTER_GRPC_PORT…) are used, just not by the
 * service, so they are not among them.
 */
export function dropPlatformOwned(
  settings: Settings,
  owned: PlatformOwned,
  environment: Record<string, string | undefined>,
): string[] {
  const dropped = new Set<string>();
  const sourceOf = (path: string, variable: string | undefined) =>
    variable && environment[variable] ? variable : (owned.otherSource?.(path) ?? variable ?? path);
  for (const ownedPath of owned.paths) {
    for (const [path, variable] of Object.entries(owned.mapping)) {
      if (!isOwned([ownedPath], path)) continue;
      if (takePath(settings, path) !== undefined) dropped.add(sourceOf(path, variable));
    }
    // What is left under the path came from no variable: keys only a config file sets.
    const rest = takePath(settings, ownedPath);
    if (rest !== undefined && !(isPlainObject(rest) && Object.keys(rest).length === 0))
      dropped.add(sourceOf(ownedPath, undefined));
  }
  const readByPlatform = new Set(Object.values(localEnv));
  return [...dropped].filter((source) => !readByPlatform.has(source));
}

/** Deletes the value at a dotted path and returns it; undefined when there was none. */
function takePath(settings: Settings, path: string): unknown {
  const keys = path.split(".");
  let node: Settings = settings;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isPlainObject(next)) return undefined;
    node = next;
  }
  const last = keys.at(-1)!;
  const value = node[last];
  delete node[last];
  return value;
}

function isPlainObject(value: unknown): value is Settings {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
