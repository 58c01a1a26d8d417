/** The node:http front end: one route table per API flavour, errors mapped in one place. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { anthropicErrorBody } from "./anthropic-format.js";
import { handleAnthropicMessages, handleAnthropicModels } from "./anthropic-routes.js";
import { checkBearerKey } from "./api-key-check.js";
import type { EngineContext } from "./context.js";
import { ApiError, tgiErrorBody, vllmErrorBody } from "./errors.js";
import { handleChatCompletions, handleCompletions } from "./openai-routes.js";
import { sendJson, sendText } from "./respond.js";
import {
  handleTgiGenerate,
  handleTgiGenerateStream,
  handleTgiInfo,
  handleTgiModels,
  handleTgiTokenize,
} from "./tgi-routes.js";
import { handleVllmModels, handleVllmTokenize, handleVllmVersion } from "./vllm-routes.js";

type Handler = (
  context: EngineContext,
  request: IncomingMessage,
  response: ServerResponse,
) => void | Promise<void>;

interface Route {
  method: "GET" | "POST";
  handler: Handler;
  /** Runs the engine: counted for TGI's concurrency limit and request metrics, refused while closing. */
  generation?: boolean;
}

const health: Handler = (_context, _request, response) => {
  response.writeHead(200, { "content-length": 0 });
  response.end();
};

const metrics: Handler = async (context, _request, response) => {
  sendText(response, 200, await context.registry.metrics(), context.registry.contentType);
};

/** Served by both engines: TGI also speaks OpenAI's API, and both have health and metrics. */
const SHARED_ROUTES: Record<string, Route> = {
  "/v1/chat/completions": { method: "POST", handler: handleChatCompletions, generation: true },
  "/v1/completions": { method: "POST", handler: handleCompletions, generation: true },
  "/health": { method: "GET", handler: health },
  "/ping": { method: "GET", handler: health },
  "/metrics": { method: "GET", handler: metrics },
};

const VLLM_ROUTES: Record<string, Route> = {
  ...SHARED_ROUTES,
  "/v1/models": { method: "GET", handler: handleVllmModels },
  "/tokenize": { method: "POST", handler: handleVllmTokenize },
  "/version": { method: "GET", handler: handleVllmVersion },
};

const TGI_ROUTES: Record<string, Route> = {
  ...SHARED_ROUTES,
  "/generate": { method: "POST", handler: handleTgiGenerate, generation: true },
  "/generate_stream": { method: "POST", handler: handleTgiGenerateStream, generation: true },
  "/": { method: "POST", handler: (c, q, r) => handleTgiGenerate(c, q, r, true), generation: true },
  "/v1/models": { method: "GET", handler: handleTgiModels },
  "/info": { method: "GET", handler: handleTgiInfo },
  "/tokenize": { method: "POST", handler: handleTgiTokenize },
};

/** Anthropic's Messages API (an engine-sim mode standing in for a hosted provider). */
const ANTHROPIC_ROUTES: Record<string, Route> = {
  ...SHARED_ROUTES,
  "/v1/messages": { method: "POST", handler: handleAnthropicMessages, generation: true },
  "/v1/models": { method: "GET", handler: handleAnthropicModels },
};

const ROUTES = { vllm: VLLM_ROUTES, tgi: TGI_ROUTES, anthropic: ANTHROPIC_ROUTES };

export function createEngineServer(context: EngineContext): Server {
  const routes = ROUTES[context.options.api];
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?", 1)[0] as string;
    const route = routes[path];
    if (!route) return notFound(context, response);
    if (request.method !== route.method) {
      return sendJson(response, 405, { detail: "Method Not Allowed" }, { allow: route.method });
    }
    if (context.closing) response.setHeader("connection", "close");
    if (!checkBearerKey(context, path, request, response)) return;
    void dispatch(context, route, request, response);
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

async function dispatch(
  context: EngineContext,
  route: Route,
  request: IncomingMessage,
  response: ServerResponse,
) {
  let release: (() => void) | undefined;
  try {
    if (route.generation) release = enterGeneration(context, response);
    await route.handler(context, request, response);
  } catch (error) {
    release?.();
    sendError(context, response, error, route.generation === true);
  }
}

/** Counts a generation request in until its response closes; enforces TGI's concurrency limit. */
function enterGeneration(context: EngineContext, response: ServerResponse): () => void {
  context.tgi?.requestReceived();
  if (context.closing) throw new ApiError("unavailable", "The engine is shutting down.");
  if (context.options.api === "tgi" && context.activeGenerations >= context.options.maxConcurrentRequests) {
    throw new ApiError("overloaded", "Model is overloaded");
  }
  context.activeGenerations++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    context.activeGenerations--;
  };
  response.on("close", release);
  return release;
}

function sendError(
  context: EngineContext,
  response: ServerResponse,
  error: unknown,
  generation: boolean,
): void {
  if (!(error instanceof ApiError)) {
    if (response.headersSent) {
      response.destroy(error as Error);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    error = new ApiError("internal", `internal error: ${message}`);
  }
  const apiError = error as ApiError;
  if (context.tgi && generation)
    context.tgi.requestFailed(apiError.kind === "overloaded" ? "overloaded" : "validation");
  if (apiError.plainText) {
    sendText(response, apiError.kind === "validation" ? 422 : 400, apiError.message);
    return;
  }
  const format = { tgi: tgiErrorBody, vllm: vllmErrorBody, anthropic: anthropicErrorBody }[
    context.options.api
  ];
  const { status, body } = format(apiError);
  sendJson(response, status, body);
}

function notFound(context: EngineContext, response: ServerResponse): void {
  if (context.options.api === "tgi") {
    response.writeHead(404, { "content-length": 0 });
    response.end();
    return;
  }
  sendJson(response, 404, { detail: "Not Found" });
}
