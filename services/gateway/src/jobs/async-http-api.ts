import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { validateInput } from "../admin/admin-validation.js";
import type { AuthContext } from "../auth/auth-context.js";
import { matchRoute, splitPath } from "../http/path-routes.js";
import { parseJsonBody, readBody } from "../http/read-body.js";
import { sendJson } from "../http/send.js";
import type { DocumentedRoute, RouteDoc } from "../openapi/route-doc.js";

export interface ApiRequest {
  request: IncomingMessage;
  response: ServerResponse;
  requestId: string;
  /** Values of the pattern's `:name` segments, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  auth: AuthContext;
  /** Reads the JSON body (up to the HTTP body limit). */
  jsonBody(): Promise<unknown>;
  /** Reads the JSON body and validates it; a bad body is a 400 naming the field. */
  body<S extends z.ZodType>(schema: S): Promise<z.output<S>>;
  queryAs<S extends z.ZodType>(schema: S): z.output<S>;
}

/** A JSON answer, or `undefined` when the handler wrote the response itself (file downloads). */
export type ApiReply = { status?: number; body: unknown; headers?: Record<string, string> } | undefined;
export type ApiHandler = (request: ApiRequest) => Promise<ApiReply>;
type Method = "GET" | "POST" | "DELETE";

interface Route {
  method: Method;
  pattern: string;
  segments: string[];
  doc: RouteDoc;
  handler: ApiHandler;
}

export interface AsyncHttpApiDeps {
  keys: { authenticate(authorization: string | undefined): Promise<AuthContext> };
  maxBodyBytes: number;
}

const ownedPrefixes = ["/v1/jobs", "/v1/files", "/v1/batches"];

/**
 * The asynchronous OpenAI-style APIs (`/v1/jobs`, `/v1/files`, `/v1/batches`): a small table of routes,
 * every one behind the caller's API key, each answering for the key's tenant only.
 */
export class AsyncHttpApi {
  private readonly routes: Route[] = [];

  constructor(private readonly deps: AsyncHttpApiDeps) {}

  add(method: Method, pattern: string, doc: RouteDoc, handler: ApiHandler): this {
    this.routes.push({ method, pattern, segments: splitPath(pattern), doc, handler });
    return this;
  }

  /** Every route, for the OpenAPI document. */
  documented(): DocumentedRoute[] {
    return this.routes.map(({ method, pattern, doc }) => ({ method, path: pattern, auth: "api-key", doc }));
  }

  owns(path: string): boolean {
    return ownedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  }

  async handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const auth = await this.deps.keys.authenticate(request.headers.authorization);
    const url = new URL(request.url ?? "/", "http://gateway");
    const { route, params } = matchRoute(this.routes, request.method ?? "GET", url.pathname);
    const reply = await route.handler({
      request,
      response,
      requestId,
      params,
      query: url.searchParams,
      auth,
      jsonBody: async () => parseJsonBody(await readBody(request, this.deps.maxBodyBytes)),
      body: async (schema) =>
        validateInput(schema, parseJsonBody(await readBody(request, this.deps.maxBodyBytes))),
      queryAs: (schema) => validateInput(schema, Object.fromEntries(url.searchParams)),
    });
    if (reply) sendJson(response, reply.status ?? 200, reply.body, reply.headers);
  }
}
