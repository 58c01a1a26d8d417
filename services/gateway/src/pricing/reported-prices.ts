import type { Logger, ServiceClient } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { PriceTable } from "./price-table.js";
import type { ModelPrice } from "./pricing-config.js";

export interface ReportedPricesOptions {
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;
  prices: Pick<PriceTable, "useReportedPrices">;
  logger: Logger;
  /**
   * How often the router's model list is read. Prices change when someone edits a ModelDeployment,
   * rarely; a request served before the next read is priced as before.
   */
  intervalMs?: number;
}

export interface ReportedPrices {
  close(): void;
}

const defaultIntervalMs = 15_000;

/** Keeps the price table's reported prices in step with the router's ListModels (ModelInfo.price). */
export function followReportedPrices(options: ReportedPricesOptions): ReportedPrices {
  let failing = false;
  const intervalMs = options.intervalMs ?? defaultIntervalMs;
  const refresh = async () => {
    try {
      // Bounded, so a router that is away costs one pending call, not one more per interval.
      const { models } = await options.router.listModels({}, { deadline: Date.now() + intervalMs });
      options.prices.useReportedPrices(pricesOf(models));
      if (failing) options.logger.info("reading model prices from the router again");
      failing = false;
    } catch (error) {
      // Once per outage: the router being away is logged by every call that needs it.
      if (!failing)
        options.logger.warn(
          { err: error },
          "cannot read model prices from the router; keeping the last ones",
        );
      failing = true;
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}

function pricesOf(models: readonly routerV1.ModelInfo[]): Map<string, ModelPrice> {
  const prices = new Map<string, ModelPrice>();
  for (const model of models) {
    if (model.price === undefined) continue;
    const { inputPerMillion, outputPerMillion, cachedInputPerMillion } = model.price;
    prices.set(model.id, {
      input: inputPerMillion,
      output: outputPerMillion,
      ...(cachedInputPerMillion === undefined ? {} : { cachedInput: cachedInputPerMillion }),
    });
  }
  return prices;
}
