import { z } from "zod";
import type { DocumentedRoute, RouteAuth } from "./route-doc.js";

type JsonObject = Record<string, unknown>;

const security: Record<Exclude<RouteAuth, "none">, string> = { "api-key": "apiKey", admin: "adminToken" };

const errorSchema = {
  type: "object",
  description: "OpenAI's error body; `code` is the gateway's error code, `param` the field at fault.",
  properties: {
    error: {
      type: "object",
      properties: {
        message: { type: "string" },
        type: { type: "string" },
        param: { type: ["string", "null"] },
        code: { type: "string" },
      },
      required: ["message", "type", "param", "code"],
    },
  },
  required: ["error"],
};

/**
 * The gateway's HTTP API as an OpenAPI 3.1 document, made from the routes it serves: paths with their
 * path and query parameters, request bodies from the schemas the routes validate with (as JSON
 * Schema), who may call each, and OpenAI's error body for every failure.
 */
export function openApiDocument(routes: readonly DocumentedRoute[], version: string): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Strata gateway",
      version,
      description:
        "OpenAI-compatible completions, embeddings and models; async jobs and the Files and Batch APIs; and the admin API.",
    },
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key (`strata keys create`)." },
        adminToken: { type: "http", scheme: "bearer", description: "The gateway's admin token." },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}

function operation(route: DocumentedRoute): JsonObject {
  const { doc } = route;
  const parameters = [
    ...pathParameters(route.path),
    ...queryParameters(doc.query),
    ...Object.entries(doc.headers ?? {}).map(([name, description]) => ({
      name,
      in: "header",
      description,
      schema: { type: "string" },
    })),
  ];
  const body = doc.body
    ? { "application/json": { schema: jsonSchema(doc.body) } }
    : doc.form
      ? { "multipart/form-data": { schema: jsonSchema(doc.form) } }
      : undefined;
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+/g, "_")}`,
    summary: doc.summary,
    tags: [tagOf(route.path)],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: body } } : {}),
    security: route.auth === "none" ? [] : [{ [security[route.auth]]: [] }],
    responses: {
      [String(doc.status ?? 200)]: {
        description: doc.summary,
        content: { [doc.produces ?? "application/json"]: {} },
      },
      default: {
        description: "An error",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    },
  };
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/:([A-Za-z_]+)/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
}

function queryParameters(query: z.ZodType | undefined): JsonObject[] {
  if (!query) return [];
  const schema = jsonSchema(query) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }));
}

/** What a client sends (defaults optional, before coercion); refinements JSON Schema cannot say are left out. */
function jsonSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return rest;
}

/** `/v1/chat/completions` → "chat", `/admin/v1/keys/:id` → "admin: keys". */
function tagOf(path: string): string {
  const segments = path.split("/").filter(Boolean);
  return segments[0] === "admin" ? `admin: ${segments[2]}` : (segments[1] ?? "").replace(/\.json$/, "");
}
