import type { Logger } from "@strata/kit";
import type { EndpointTable } from "../endpoints/endpoint-table.js";
import type { StrategySource } from "../scoring/strategy-selector.js";

/**
 * `precise` on a model none of whose endpoints publishes KV events only ever balances load, which
 * is almost certainly a configuration mistake: say so at start. The strategy is the one routing will
 * use, whether configured or set by a ModelDeployment.
 */
export function warnPreciseWithoutEvents(
  strategies: StrategySource,
  table: Pick<EndpointTable, "models">,
  logger: Pick<Logger, "warn">,
): void {
  for (const [model, endpoints] of table.models()) {
    if (strategies.forModel(model).name !== "precise") continue;
    if (endpoints.some((endpoint) => endpoint.config.kvEvents)) continue;
    logger.warn(
      { model },
      'strategy "precise" but no endpoint of the model has kvEvents: routing by load only',
    );
  }
}
