import type { z } from "zod";

/** Maps a config field path ("database.url") to the environment variable that sets it ("DATABASE_URL"). */
export type EnvMapping = Record<string, string>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Builds the nested raw object a schema parses from the variables named in the mapping; unset ones are left out. */
export function fromEnv(
  env: Record<string, string | undefined>,
  mapping: EnvMapping,
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [path, name] of Object.entries(mapping)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const keys = path.split(".");
    let node = raw;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return raw;
}

/**
 * Parses configuration once at start-up. A bad value throws a ConfigError naming the setting by its
 * environment variable when it has one, else by its path, so the operator knows exactly what to fix.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  mapping: EnvMapping = {},
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join(".");
    const name = mapping[path] ? `${mapping[path]} (${path})` : path || "(root)";
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** Shorthand for the common case: parse a service's schema from the process environment. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  mapping: EnvMapping,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  return parseConfig(schema, fromEnv(env, mapping), mapping);
}

/** Replaces secret-looking values so the effective config can be logged. */
export function redactConfig(value: unknown, key = ""): unknown {
  if (/secret|password|token|key$|apikey|url$/i.test(key) && typeof value === "string") {
    return key.toLowerCase().endsWith("url") ? redactUrl(value) : "[redacted]";
  }
  if (Array.isArray(value)) return value.map((item) => redactConfig(item));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  }
  return value;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return url;
  }
}
