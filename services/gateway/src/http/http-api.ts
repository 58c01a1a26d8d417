import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Logger, type ServiceClient, StrataError, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { ApiKeyStore } from "../auth/api-key-store.js";
import { type Operation, validateRequest } from "../openai/request-schemas.js";
import type { CompletionPipeline } from "../pipeline/completion-pipeline.js";
import { newRequestId } from "../pipeline/request-id.js";
import { parseJsonBody, readBody } from "./read-body.js";
import { routeHeader } from "./route-header.js";
import { sendError, sendJson } from "./send.js";

export interface HttpApiDeps {
  keys: Pick<ApiKeyStore, "authenticate">;
  pipeline: Pick<CompletionPipeline, "execute">;
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;
  maxBodyBytes: number;
  logger: Logger;
}

const completionPaths: Record<string, Operation> = {
  "/v1/chat/completions": "chat.completions",
  "/v1/completions": "completions",
};

/** The OpenAI-compatible HTTP API: one handler, a small table of routes. */
export function createHttpApi(
  deps: HttpApiDeps,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const requestId = newRequestId();
    response.setHeader("x-request-id", requestId);
    dispatch(deps, request, response, requestId).catch((error: unknown) => {
      const strataError = toStrataError(error);
      if (strataError.code === "internal_error")
        deps.logger.error({ err: error, requestId }, "request failed");
      sendError(response, strataError);
    });
  };
}

async function dispatch(
  deps: HttpApiDeps,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0]!;
  const operation = completionPaths[path];
  if (operation) {
    requireMethod(request, "POST");
    return handleCompletion(deps, request, response, requestId, operation);
  }
  if (path === "/v1/models" || path.startsWith("/v1/models/")) {
    requireMethod(request, "GET");
    return handleModels(deps, request, response, decodeURIComponent(path.slice("/v1/models/".length)));
  }
  throw new StrataError("not_found", `Invalid URL (${request.method} ${path}).`);
}

function requireMethod(request: IncomingMessage, method: string): void {
  if (request.method !== method) {
    throw new StrataError(
      "method_not_allowed",
      `Method ${request.method} is not allowed here; use ${method}.`,
    );
  }
}

async function handleCompletion(
  deps: HttpApiDeps,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  operation: Operation,
): Promise<void> {
  const startedAt = performance.now();
  const auth = await deps.keys.authenticate(request.headers.authorization);
  const body = validateRequest(operation, parseJsonBody(await readBody(request, deps.maxBodyBytes)));
  const abort = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished)
      abort.abort(new StrataError("client_closed", "The client closed the request."));
  });
  const result = await deps.pipeline.execute({
    operation,
    request: body,
    auth,
    requestId,
    signal: abort.signal,
    startedAt,
  });
  const headers = { "x-strata-route": routeHeader(result.route) };
  if (result.kind === "json") {
    sendJson(response, result.status, result.body, headers);
    return;
  }
  response.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  try {
    for await (const data of result.events) {
      if (abort.signal.aborted) break;
      // Backpressure: a slow client slows the engine read instead of growing memory here.
      if (!response.write(`data: ${data}\n\n`))
        await Promise.race([once(response, "drain"), once(response, "close")]);
    }
  } catch (error) {
    // The answer has begun, so the error goes in-band the way OpenAI streams do, then the stream ends.
    const failure = toStrataError(error);
    if (!abort.signal.aborted)
      response.write(
        `data: ${JSON.stringify({ error: { message: failure.message, type: "server_error", code: failure.code } })}\n\n`,
      );
  }
  response.end();
}

async function handleModels(
  deps: HttpApiDeps,
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
): Promise<void> {
  await deps.keys.authenticate(request.headers.authorization);
  const { models } = await deps.router.listModels({});
  const data = models.map((model) => ({
    id: model.id,
    object: "model",
    created: 0,
    owned_by: model.ownedBy || "strata",
  }));
  if (!id) {
    sendJson(response, 200, { object: "list", data });
    return;
  }
  const model = data.find((entry) => entry.id === id);
  if (!model)
    throw new StrataError("model_not_found", `The model '${id}' does not exist.`, { param: "model" });
  sendJson(response, 200, model);
}
