/** vLLM's --api-key: every /v1 route needs `Authorization: Bearer <key>`, else 401 {"error": "Unauthorized"}. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EngineContext } from "./context.js";
import { sendJson } from "./respond.js";

export function checkBearerKey(
  context: EngineContext,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const key = context.options.apiKey;
  if (key === undefined || context.options.api !== "vllm" || !path.startsWith("/v1")) return true;
  if (request.headers.authorization === `Bearer ${key}`) return true;
  sendJson(response, 401, { error: "Unauthorized" });
  return false;
}
