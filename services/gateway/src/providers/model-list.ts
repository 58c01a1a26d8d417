import { create } from "@bufbuild/protobuf";
import type { ClientCallOptions, ServiceClient } from "@strata/kit";
import { routerV1 } from "@strata/proto";

type ModelLister = Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;

/**
 * The router's models plus the gateway's own (its aliases, its embedding model), so `/v1/models`,
 * `/v1/models/{id}` and the gRPC ListModels name every model a client may ask for. Each extra model
 * is added once, after the router's, unless the router already lists it. The faces still show a key
 * only the models it is allowed.
 */
export function withExtraModels(router: ModelLister, extraModels: () => string[]): ModelLister {
  return {
    async listModels(request, options?: ClientCallOptions) {
      const response = await router.listModels(request, options);
      const known = new Set(response.models.map((model) => model.id));
      for (const id of extraModels()) {
        if (known.has(id)) continue;
        known.add(id);
        response.models.push(create(routerV1.ModelInfoSchema, { id, ownedBy: "strata" }));
      }
      return response;
    },
  };
}
