import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Logger, type ServiceClient, StrataError, toStrataError } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { AdminRouter } from "../admin/admin-router.js";
import type { ApiKeyStore } from "../auth/api-key-store.js";
import { visibleModels } from "../auth/authorize-model.js";
import { cacheHeaders, parseCacheDirectives } from "../cache/cache-directives.js";
import { handleEmbeddings } from "../embeddings/embeddings-http.js";
import { embeddingsRequestSchema } from "../embeddings/embeddings-request.js";
import type { EmbeddingsService } from "../embeddings/embeddings-service.js";
import type { AsyncHttpApi } from "../jobs/async-http-api.js";
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  type Operation,
  validateRequest,
} from "../openai/request-schemas.js";
import { openApiDocument } from "../openapi/openapi-document.js";
import type { DocumentedRoute, RouteDoc } from "../openapi/route-doc.js";
import type { CompletionPipeline } from "../pipeline/completion-pipeline.js";
import { requestTimeoutMs, TIMEOUT_HEADER } from "../pipeline/request-deadline.js";
import { newRequestId } from "../pipeline/request-id.js";
import { clientClosedSignal } from "./client-closed.js";
import { parseJsonBody, readBody } from "./read-body.js";
import { sendError, sendJson, withHeadersOnError } from "./send.js";

export interface HttpApiDeps {
  keys: Pick<ApiKeyStore, "authenticate">;
  pipeline: Pick<CompletionPipeline, "execute">;
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "listModels">;
  maxBodyBytes: number;
  logger: Logger;
  /** The admin API (`/admin/...`), behind its own credential. */
  admin?: Pick<AdminRouter, "owns" | "handle" | "documented">;
  /** POST /v1/embeddings; absent: 404 like any unknown route. */
  embeddings?: Pick<EmbeddingsService, "create">;
  /** `/v1/jobs`, `/v1/files` and `/v1/batches`; absent: 404 like any unknown route. */
  asyncApi?: Pick<AsyncHttpApi, "owns" | "handle" | "documented">;
}

const openApiPath = "/v1/openapi.json";

/** Headers a completion request may carry (HTTP; the same names as gRPC metadata). */
const completionHeaders = {
  [TIMEOUT_HEADER]: "The request's deadline in ms, retries and fallbacks included.",
  [cacheHeaders.mode]:
    "`on` caches a non-deterministic request, `off` skips the caches, `refresh` re-stores.",
  [cacheHeaders.ttl]: "Seconds this request's answer may be served from the cache.",
  [cacheHeaders.semantic]: "`on` or `off`: this request in or out of the semantic cache.",
  [cacheHeaders.threshold]: "Cosine similarity in (0, 1] a semantic match must reach.",
};

/** The completion endpoints (POST), by path: the operation each runs, and its route doc. */
const completionRoutes: Record<string, { operation: Operation; doc: RouteDoc }> = {
  "/v1/chat/completions": {
    operation: "chat.completions",
    doc: {
      summary: "Create a chat completion (server-sent events with `stream: true`)",
      body: chatCompletionRequestSchema,
      headers: completionHeaders,
    },
  },
  "/v1/completions": {
    operation: "completions",
    doc: {
      summary: "Create a text completion (server-sent events with `stream: true`)",
      body: completionRequestSchema,
      headers: completionHeaders,
    },
  },
};

/** The routes this file answers itself, for the OpenAPI document (the routers list their own). */
function ownRoutes(deps: HttpApiDeps): DocumentedRoute[] {
  const withKey = (method: string, path: string, doc: RouteDoc): DocumentedRoute => ({
    method,
    path,
    auth: "api-key",
    doc,
  });
  return [
    ...Object.entries(completionRoutes).map(([path, { doc }]) => withKey("POST", path, doc)),
    ...(deps.embeddings
      ? [withKey("POST", "/v1/embeddings", { summary: "Create embeddings", body: embeddingsRequestSchema })]
      : []),
    withKey("GET", "/v1/models", { summary: "List the models the key may use" }),
    withKey("GET", "/v1/models/:model", { summary: "Get a model" }),
    { method: "GET", path: openApiPath, auth: "none", doc: { summary: "This document (OpenAPI 3.1)" } },
  ];
}

/** The OpenAI-compatible HTTP API: one handler, a small table of routes. */
export function createHttpApi(
  deps: HttpApiDeps,
): (request: IncomingMessage, response: ServerResponse) => void {
  let openApi: string | undefined;
  // Built on first request: every route is registered by then.
  const document = () =>
    (openApi ??= JSON.stringify(
      openApiDocument(
        [...ownRoutes(deps), ...(deps.admin?.documented() ?? []), ...(deps.asyncApi?.documented() ?? [])],
        "v1",
      ),
    ));
  return (request, response) => {
    const requestId = newRequestId();
    response.setHeader("x-request-id", requestId);
    dispatch(deps, request, response, requestId, document).catch((error: unknown) => {
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
  openApi: () => string,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0]!;
  const completion = completionRoutes[path];
  if (completion) {
    requireMethod(request, "POST");
    return handleCompletion(deps, request, response, requestId, completion.operation);
  }
  if (path === openApiPath) {
    requireMethod(request, "GET");
    response.writeHead(200, { "content-type": "application/json" }).end(openApi());
    return;
  }
  if (deps.admin?.owns(path)) return deps.admin.handle(request, response, requestId);
  if (deps.asyncApi?.owns(path)) return deps.asyncApi.handle(request, response, requestId);
  if (path === "/v1/embeddings" && deps.embeddings) {
    requireMethod(request, "POST");
    return handleEmbeddings({ ...deps, embeddings: deps.embeddings }, request, response, requestId);
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
  const signal = clientClosedSignal(response);
  // Steps add response headers (x-strata-route, x-ratelimit-*...), sent with the answer or the error.
  const headers: Record<string, string> = {};
  const timeoutMs = requestTimeoutMs(request.headers["x-strata-timeout-ms"]);
  const cache = parseCacheDirectives((name) => headerValue(request.headers[name]));
  const result = await withHeadersOnError(
    deps.pipeline.execute({
      operation,
      request: body,
      auth,
      requestId,
      signal,
      startedAt,
      timeoutMs,
      cache,
      headers,
    }),
    response,
    headers,
  );
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
  // Events that arrive together leave together: corked until the events at hand are written, one
  // system call for the batch rather than one per event (a token streams out on the same tick). Up
  // to the first token each event goes at once: nothing may hold up the start of the answer.
  let opening = true;
  let corked = false;
  const uncork = () => {
    corked = false;
    response.uncork();
  };
  try {
    for await (const data of result.events) {
      if (signal.aborted) break;
      if (!opening && !corked) {
        corked = true;
        response.cork();
        process.nextTick(uncork);
      }
      opening &&= !carriesText(data);
      // Backpressure: a slow client slows the engine read instead of growing memory here.
      if (!response.write(`data: ${data}\n\n`))
        await Promise.race([once(response, "drain"), once(response, "close")]);
    }
  } catch (error) {
    // The answer has begun, so the error goes in-band the way OpenAI streams do, then the stream ends.
    const failure = toStrataError(error);
    if (!signal.aborted)
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
  const auth = await deps.keys.authenticate(request.headers.authorization);
  const { models } = await deps.router.listModels({});
  // A key limited to some models sees only those.
  const data = visibleModels(auth, models).map((model) => ({
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

/** An event with text in it (a content delta that is not empty): the first one ends the opening. */
function carriesText(data: string): boolean {
  const at = data.indexOf('"content":"');
  return at !== -1 && data.charCodeAt(at + 11) !== 34;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
