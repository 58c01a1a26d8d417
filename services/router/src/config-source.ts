import { readFileSync } from "node:fs";
import { ConfigError, type EnvMapping, fromEnv, parseConfig } from "@strata/kit";
import { type RouterConfig, routerConfigSchema, routerEnvMapping } from "./config.js";

const configFileVariable = "ROUTER_CONFIG_FILE";
type Env = Record<string, string | undefined>;

/**
 * Reads the router's configuration from the environment and, when ROUTER_CONFIG_FILE names one, a JSON
 * file holding either a config object or just the endpoint list. Environment values win over the file
 * so one setting can be overridden without editing a mounted ConfigMap.
 */
export function loadRouterConfig(
  env: Env = process.env,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): RouterConfig {
  return parseRouterConfig(routerSettingsFromEnv(env, readFile), env);
}

/**
 * The settings the environment gives, by config path and not yet validated: the ROUTER_CONFIG_FILE
 * file's under the variables'. A program that embeds the router (`strata up`) lays its own settings
 * over these before parseRouterConfig, so both read the environment through this one mapping.
 */
export function routerSettingsFromEnv(
  env: Env,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): Record<string, unknown> {
  const filePath = env[configFileVariable];
  const fromFile = filePath ? readConfigFile(filePath, readFile) : {};
  return mergeConfig(fromFile, fromEnv(env, routerEnvMapping));
}

/** Validates raw settings by config path; an error names the variable or the file a setting came from. */
export function parseRouterConfig(raw: Record<string, unknown>, env: Env): RouterConfig {
  const hasFile = env[configFileVariable] !== undefined;
  return parseConfig(routerConfigSchema, raw, settingNames(env, raw, hasFile));
}

function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path));
  } catch (error) {
    throw new ConfigError([`${configFileVariable} (${path}): cannot read JSON: ${(error as Error).message}`]);
  }
  if (Array.isArray(parsed)) return { endpoints: parsed };
  if (parsed && typeof parsed === "object") return parsed as Record<string, unknown>;
  throw new ConfigError([`${configFileVariable} (${path}): expected a JSON object or an array of endpoints`]);
}

/** One level deep is enough: every section of the schema is a flat object. */
function mergeConfig(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    const bothObjects = isPlainObject(current) && isPlainObject(value);
    merged[key] = bothObjects ? { ...current, ...value } : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Names each setting after where its value came from, so an error points at the variable or the file
 * to fix; endpoint fields get indexed names (ROUTER_ENDPOINTS[1].url) because the list is one variable.
 */
function settingNames(env: Env, raw: Record<string, unknown>, hasFile: boolean): EnvMapping {
  const names: EnvMapping = {};
  for (const [path, variable] of Object.entries(routerEnvMapping)) {
    if (env[variable]) names[path] = variable;
    else if (hasFile) names[path] = configFileVariable;
  }
  const endpointsSource = names.endpoints;
  const endpoints = parseMaybeJson(raw.endpoints);
  if (endpointsSource && Array.isArray(endpoints)) {
    endpoints.forEach((endpoint: unknown, index) => {
      names[`endpoints.${index}`] = `${endpointsSource}[${index}]`;
      for (const field of endpointFields(endpoint)) {
        names[`endpoints.${index}.${field}`] = `${endpointsSource}[${index}].${field}`;
      }
    });
  }
  return names;
}

/** The paths of an endpoint's fields an error can name, nested ones (adapters.2, kvEvents.topic) included. */
function endpointFields(endpoint: unknown): string[] {
  const fields = ["id", "url", "model", "api", "aliases", "kvCapacityTokens", "adapters", "kvEvents"];
  fields.push("kvEvents.endpoint", "kvEvents.replayEndpoint", "kvEvents.topic");
  if (!isPlainObject(endpoint)) return fields;
  for (const list of ["aliases", "adapters"]) {
    const items = endpoint[list];
    if (!Array.isArray(items)) continue;
    for (let index = 0; index < items.length; index++) fields.push(`${list}.${index}`);
  }
  return fields;
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
