import type { IncomingMessage, ServerResponse } from "node:http";
import { StrataError } from "@strata/kit";
import type { z } from "zod";
import { validateInput } from "../admin/admin-validation.js";
import type { AuthContext } from "../auth/auth-context.js";
import { parseJsonBody, readBody } from "../http/read-body.js";
import { sendJson } from "../http/send.js";

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
  segments: string[];
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

  add(method: Method, pattern: string, handler: ApiHandler): this {
    this.routes.push({ method, segments: split(pattern), handler });
    return this;
  }

  owns(path: string): boolean {
    return ownedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  }

  async handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const auth = await this.deps.keys.authenticate(request.headers.authorization);
    const url = new URL(request.url ?? "/", "http://gateway");
    const { route, params } = this.match(request.method ?? "GET", url.pathname);
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

  private match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const segments = split(path);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0)
      throw new StrataError(
        "method_not_allowed",
        `Method ${method} is not allowed here; use ${allowed.join(" or ")}.`,
      );
    throw new StrataError("not_found", `Invalid URL (${method} ${path}).`);
  }
}

function split(path: string): string[] {
  return path.split("/").filter((segment) => segment.length > 0);
}

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index]!;
    const actual = segments[index]!;
    if (expected.startsWith(":")) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        throw new StrataError("invalid_request", `The path segment '${actual}' is not valid URL encoding.`);
      }
    } else if (expected !== actual) return undefined;
  }
  return params;
}
