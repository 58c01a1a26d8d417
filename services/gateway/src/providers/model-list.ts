import { create } from "@bufbuild/protobuf";
import type { ClientCallOptions, ServiceClient } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import type { ModelChains } from "./model-chains.js";

type ModelLister = Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;

/**
 * The router's models plus the gateway's own aliases, so `/v1/models` (and the gRPC ListModels)
 * names every model a client may ask for.
 */
export function withModelAliases(router: ModelLister, chains: Pick<ModelChains, "aliasNames">): ModelLister {
  return {
    async listModels(request, options?: ClientCallOptions) {
      const response = await router.listModels(request, options);
      const known = new Set(response.models.map((model) => model.id));
      for (const alias of chains.aliasNames()) {
        if (!known.has(alias))
          response.models.push(create(routerV1.ModelInfoSchema, { id: alias, ownedBy: "strata" }));
      }
      return response;
    },
  };
}
