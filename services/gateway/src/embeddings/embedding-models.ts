import { create } from "@bufbuild/protobuf";
import type { ClientCallOptions, ServiceClient } from "@strata/kit";
import { routerV1 } from "@strata/proto";
import type { Embedder } from "./embedder.js";

type ModelLister = Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;

/**
 * The completion models (the router's, and the gateway's aliases) plus the gateway's embedding model,
 * so `/v1/models`, `/v1/models/{id}` and the gRPC ListModels name every model a client may ask for.
 * The faces still show a key only the models it is allowed.
 */
export function withEmbeddingModels(models: ModelLister, embedder: Pick<Embedder, "model">): ModelLister {
  return {
    async listModels(request, options?: ClientCallOptions) {
      const response = await models.listModels(request, options);
      if (!response.models.some((model) => model.id === embedder.model))
        response.models.push(create(routerV1.ModelInfoSchema, { id: embedder.model, ownedBy: "strata" }));
      return response;
    },
  };
}
