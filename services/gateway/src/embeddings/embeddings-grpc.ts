import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallContext } from "@strata/kit";
import type { gatewayV1 } from "@strata/proto";
import type { AuthContext } from "../auth/auth-context.js";
import { newRequestId } from "../pipeline/request-id.js";
import { validateEmbeddingsRequest } from "./embeddings-request.js";
import type { EmbeddingsService } from "./embeddings-service.js";

export interface EmbeddingsRpcDeps {
  authenticate(context: CallContext): Promise<AuthContext>;
  embeddings: Pick<EmbeddingsService, "create">;
}

/** GatewayService.CreateEmbedding: the same checks, backend and usage accounting as POST /v1/embeddings. */
export function createEmbeddingRpc(deps: EmbeddingsRpcDeps) {
  return async (
    request: gatewayV1.CreateEmbeddingRequest,
    context: CallContext,
  ): Promise<MessageInitShape<typeof gatewayV1.CreateEmbeddingResponseSchema>> => {
    const startedAt = performance.now();
    const auth = await deps.authenticate(context);
    const requestId = newRequestId();
    // The steps add headers (x-ratelimit-*, x-strata-route...); gRPC sends them as response metadata.
    const headers: Record<string, string> = { "x-request-id": requestId };
    const send = () => {
      for (const [name, value] of Object.entries(headers)) context.setHeader(name, value);
    };
    // Validated as the HTTP body would be, so both faces refuse the same input with the same message.
    const validated = validateEmbeddingsRequest({
      model: request.model,
      input: request.input,
      ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
    });
    const batch = await deps.embeddings
      .create({ request: validated, auth, requestId, signal: context.signal, startedAt, headers })
      .catch((error: unknown) => {
        send();
        throw error;
      });
    send();
    return {
      data: batch.vectors.map((vector, index) => ({ index, embedding: Array.from(vector) })),
      model: validated.model,
      usage: { promptTokens: batch.promptTokens, totalTokens: batch.promptTokens },
    };
  };
}
