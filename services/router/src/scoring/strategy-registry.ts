import { createLeastLoad } from "./least-load.js";
import type { Strategy, StrategyFactory } from "./strategy.js";

/** Every strategy shipped in-tree, by the name configuration and RouteResponse use. */
export const inTreeStrategies: Readonly<Record<string, StrategyFactory>> = {
  "least-load": createLeastLoad,
};

export function createStrategy(
  name: string,
  params: unknown,
  factories: Readonly<Record<string, StrategyFactory>> = inTreeStrategies,
): Strategy {
  const factory = factories[name];
  if (!factory)
    throw new Error(`unknown routing strategy "${name}" (known: ${Object.keys(factories).join(", ")})`);
  return factory(params);
}
