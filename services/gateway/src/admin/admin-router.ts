import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { StrataError } from "@strata/kit";
import type { z } from "zod";
import { matchRoute, splitPath } from "../http/path-routes.js";
import { parseJsonBody, readBody } from "../http/read-body.js";
import { sendJson } from "../http/send.js";
import type { DocumentedRoute, RouteDoc } from "../openapi/route-doc.js";
import type { AdminCredential } from "./admin-credential.js";
import { validateInput } from "./admin-validation.js";

/** Every admin route lives under this prefix; patterns given to `add` are relative to it. */
export const adminPrefix = "/admin/v1";

export interface AdminRequest {
  method: string;
  /** Path below `/admin/v1`, e.g. `/keys/key_abc/rotate`. */
  path: string;
  /** Values of the pattern's `:name` segments, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  requestId: string;
  /** Reads the JSON body and validates it with `schema`; a bad body is a 400 naming the field. */
  body<S extends z.ZodType>(schema: S): Promise<z.output<S>>;
  /** Validates the query string (each parameter as a string) with `schema`. */
  queryAs<S extends z.ZodType>(schema: S): z.output<S>;
}

export interface AdminReply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type AdminHandler = (request: AdminRequest) => Promise<AdminReply>;
export type AdminMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

interface Route {
  method: AdminMethod;
  pattern: string;
  segments: string[];
  doc: RouteDoc;
  handler: AdminHandler;
}

export interface AdminRouterOptions {
  credential: Pick<AdminCredential, "verify">;
  maxBodyBytes: number;
}

/**
 * The admin HTTP API: each concern registers its routes (`router.add("GET", "/usage", doc, handler)`)
 * in its own file; every route sits behind the admin credential, checked before any route is matched
 * so an unauthenticated caller learns nothing about which routes exist.
 */
export class AdminRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly options: AdminRouterOptions) {}

  /** The admin credential, for other faces of the admin API (gRPC) to check the same way. */
  get credential(): Pick<AdminCredential, "verify"> {
    return this.options.credential;
  }

  add(method: AdminMethod, pattern: string, doc: RouteDoc, handler: AdminHandler): this {
    if (!pattern.startsWith("/")) throw new Error(`admin route pattern must start with "/": ${pattern}`);
    const segments = splitPath(pattern);
    const clash = this.routes.find((route) => route.method === method && route.pattern === pattern);
    if (clash) throw new Error(`admin route ${method} ${pattern} is registered twice`);
    this.routes.push({ method, pattern, segments, doc, handler });
    return this;
  }

  /** Every route, for the OpenAPI document. */
  documented(): DocumentedRoute[] {
    return this.routes.map(({ method, pattern, doc }) => ({
      method,
      path: adminPrefix + pattern,
      auth: "admin",
      doc,
    }));
  }

  /** True for paths this router answers; the HTTP API sends those here. */
  owns(path: string): boolean {
    return path === "/admin" || path.startsWith("/admin/");
  }

  /** Answers one admin request; errors are thrown as StrataErrors for the HTTP API to send. */
  async handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    await this.options.credential.verify(request.headers.authorization);
    const url = new URL(request.url ?? "/", "http://admin");
    if (!url.pathname.startsWith(`${adminPrefix}/`))
      throw new StrataError("not_found", `Invalid URL (${request.method} ${url.pathname}).`);
    const path = url.pathname.slice(adminPrefix.length);
    const { route, params } = matchRoute(this.routes, request.method ?? "GET", path, url.pathname);
    const reply = await route.handler({
      method: route.method,
      path,
      params,
      query: url.searchParams,
      headers: request.headers,
      requestId,
      body: async (schema) =>
        validateInput(schema, parseJsonBody(await readBody(request, this.options.maxBodyBytes))),
      queryAs: (schema) => validateInput(schema, Object.fromEntries(url.searchParams)),
    });
    sendJson(response, reply.status ?? 200, reply.body, reply.headers);
  }
}
