import type { MessageInitShape } from "@bufbuild/protobuf";
import type { routerV1 } from "@strata/proto";
import type { RouterCalls } from "../routing/router.js";
import type { DiscoveredRouting } from "./discovered-routing.js";
import type { DiscoveredModel } from "./discovered-state.js";
import type { ModelPrice } from "./model-deployment.js";

type ModelOutput = MessageInitShape<typeof routerV1.ModelInfoSchema>;
type PriceOutput = MessageInitShape<typeof routerV1.ModelPriceSchema>;

/**
 * ListModels with what ModelDeployments add: their prices, their models while no replica is ready
 * (0 endpoints: the model exists and may come back), and their aliases and tiers as entries naming
 * the model they stand for (`alias_of`), so `/v1/models` shows every name a client may send.
 */
export function listWithDiscovered(
  listed: readonly ModelOutput[],
  discovered: Pick<DiscoveredRouting, "all" | "tierEntries">,
): ModelOutput[] {
  const models = [...discovered.all()];
  const byAdapter = new Map(
    models.flatMap((model) => model.adapters.map((adapter) => [adapter, model] as const)),
  );
  const byModel = new Map(models.map((model) => [model.model, model]));
  const result = listed.map((entry): ModelOutput => {
    const price = (byModel.get(entry.id ?? "") ?? byAdapter.get(entry.id ?? ""))?.price;
    return price === undefined ? entry : ({ ...entry, price: toPrice(price) } as ModelOutput);
  });
  const byId = new Map(result.map((entry) => [entry.id ?? "", entry]));
  const add = (id: string, model: DiscoveredModel, aliasOf?: string) => {
    if (byId.has(id)) return;
    const served = byId.get(model.model);
    const entry: ModelOutput = {
      id,
      endpoints: served?.endpoints ?? 0,
      healthyEndpoints: served?.healthyEndpoints ?? 0,
      ownedBy: "strata",
      ...(aliasOf === undefined ? {} : { aliasOf }),
      ...(model.price === undefined ? {} : { price: toPrice(model.price) }),
    };
    result.push(entry);
    byId.set(id, entry);
  };
  for (const model of models) add(model.model, model);
  for (const model of models) for (const alias of model.aliases) add(alias, model, model.model);
  for (const [tier, name] of discovered.tierEntries()) {
    const model = byModel.get(name);
    if (model) add(tier, model, name);
  }
  return result;
}

/** The router's gRPC-facing methods, with ListModels completed by discovery. */
export function withDiscoveredModels(
  router: RouterCalls,
  discovered: Pick<DiscoveredRouting, "all" | "tierEntries">,
): RouterCalls {
  return {
    route: (request) => router.route(request),
    routeAsync: (request, signal) => router.routeAsync(request, signal),
    waitsForClassifier: (model) => router.waitsForClassifier(model),
    report: (report) => router.report(report),
    listModels: () => listWithDiscovered(router.listModels(), discovered),
  };
}

/** The CRD makes every price optional; an unset cached price means the input price (the gateway's rule). */
function toPrice(price: ModelPrice): PriceOutput {
  return {
    inputPerMillion: price.inputPerMillion ?? 0,
    outputPerMillion: price.outputPerMillion ?? 0,
    ...(price.cachedInputPerMillion === undefined
      ? {}
      : { cachedInputPerMillion: price.cachedInputPerMillion }),
  };
}
