import { preciseParamsSchema } from "../kv-events/config.js";
import { createPrecise } from "../kv-events/precise.js";
import { cacheAwarePlugin } from "./cache-aware.js";
import { kvAwarePlugin } from "./kv-aware.js";
import { leastLoadPlugin } from "./least-load.js";
import { prefixHashPlugin } from "./prefix-hash.js";
import { type Strategy, type StrategyDeps, type StrategyPlugin, strategyPlugin } from "./strategy.js";
import { roundRobinPlugin, weightedPlugin } from "./weighted.js";

/** KV-event-fed: needs the router's block index and prompt hasher (the `kvEvents` section). */
const precisePlugin = strategyPlugin(preciseParamsSchema, (params, deps) => {
  if (!deps.precise) {
    throw new Error('strategy "precise" needs the KV-event index: build it with deps.precise (run() does)');
  }
  return createPrecise(params, deps.precise);
});

/** Every strategy shipped in-tree, by the name configuration and RouteResponse use. */
export const inTreeStrategies: Readonly<Record<string, StrategyPlugin>> = {
  "round-robin": roundRobinPlugin,
  "least-load": leastLoadPlugin,
  "prefix-hash": prefixHashPlugin,
  "cache-aware": cacheAwarePlugin,
  "kv-aware": kvAwarePlugin,
  weighted: weightedPlugin,
  precise: precisePlugin,
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
