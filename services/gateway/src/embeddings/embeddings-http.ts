import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiKeyStore } from "../auth/api-key-store.js";
import { clientClosedSignal } from "../http/client-closed.js";
import { parseJsonBody, readBody } from "../http/read-body.js";
import { sendJson, withHeadersOnError } from "../http/send.js";
import { validateEmbeddingsRequest } from "./embeddings-request.js";
import { embeddingsResponseBody } from "./embeddings-response.js";
import type { EmbeddingsService } from "./embeddings-service.js";

export interface EmbeddingsHttpDeps {
  keys: Pick<ApiKeyStore, "authenticate">;
  embeddings: Pick<EmbeddingsService, "create">;
  maxBodyBytes: number;
}

/** POST /v1/embeddings in OpenAI's shape (float or base64 vectors, usage). */
export async function handleEmbeddings(
  deps: EmbeddingsHttpDeps,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const startedAt = performance.now();
  const auth = await deps.keys.authenticate(request.headers.authorization);
  const body = validateEmbeddingsRequest(parseJsonBody(await readBody(request, deps.maxBodyBytes)));
  const signal = clientClosedSignal(response);
  // The steps add headers (x-ratelimit-*, x-strata-route...), sent with the answer or the error.
  const headers: Record<string, string> = {};
  const batch = await withHeadersOnError(
    deps.embeddings.create({ request: body, auth, requestId, signal, startedAt, headers }),
    response,
    headers,
  );
  sendJson(response, 200, embeddingsResponseBody(batch, body.model, body.encodingFormat), headers);
}
