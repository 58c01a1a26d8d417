import { cacheAwarePlugin } from "./cache-aware.js";
import { kvAwarePlugin } from "./kv-aware.js";
import { leastLoadPlugin } from "./least-load.js";
import { prefixHashPlugin } from "./prefix-hash.js";
import type { Strategy, StrategyDeps, StrategyPlugin } from "./strategy.js";
import { roundRobinPlugin, weightedPlugin } from "./weighted.js";

/** Every strategy shipped in-tree, by the name configuration and RouteResponse use. */
export const inTreeStrategies: Readonly<Record<string, StrategyPlugin>> = {
  "round-robin": roundRobinPlugin,
  "least-load": leastLoadPlugin,
  "prefix-hash": prefixHashPlugin,
  "cache-aware": cacheAwarePlugin,
  "kv-aware": kvAwarePlugin,
  weighted: weightedPlugin,
};

export const defaultStrategyDeps: StrategyDeps = { random: Math.random };

/** Parses `params` with the strategy's schema (throwing a ZodError on bad input) and builds it. */
export function createStrategy(
  name: string,
  params: unknown = {},
  deps: StrategyDeps = defaultStrategyDeps,
  plugins: Readonly<Record<string, StrategyPlugin>> = inTreeStrategies,
): Strategy {
  const plugin = plugins[name];
  if (!plugin)
    throw new Error(`unknown routing strategy "${name}" (known: ${Object.keys(plugins).join(", ")})`);
  return plugin.create(plugin.paramsSchema.parse(params ?? {}), deps);
}
