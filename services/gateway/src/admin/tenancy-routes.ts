import type { z } from "zod";
import type { AdminReply, AdminRequest, AdminRouter } from "./admin-router.js";
import type { ApiKeyAdmin } from "./api-key-admin.js";
import { idempotencyHeaderDoc, idempotencyKey } from "./idempotency.js";
import { apiKeyJson, listJson, projectJson, tenantJson } from "./tenancy-json.js";
import {
  createKeySchema,
  createProjectSchema,
  createTenantSchema,
  listKeysSchema,
  listProjectsSchema,
  listSchema,
  rotateKeySchema,
  updateKeySchema,
} from "./tenancy-schemas.js";
import type { Created, TenantAdmin } from "./tenant-admin.js";

export interface TenancyRoutesDeps {
  tenants: TenantAdmin;
  keys: ApiKeyAdmin;
  now?: () => number;
}

/** Tenants, projects and API keys under /admin/v1 (see the gateway README for the full table). */
export function registerTenancyRoutes(router: AdminRouter, deps: TenancyRoutesDeps): void {
  const { tenants, keys } = deps;
  const now = deps.now ?? Date.now;
  const keyView = (key: Parameters<typeof apiKeyJson>[0]) => apiKeyJson(key, now());
  const idempotency = (request: AdminRequest) => idempotencyKey(request.headers["idempotency-key"]);

  router
    .add(
      "POST",
      "/tenants",
      { summary: "Create a tenant", body: createTenantSchema, status: 201, headers: idempotencyHeaderDoc },
      async (request) =>
        created(
          await tenants.createTenant(await request.body(createTenantSchema), idempotency(request)),
          tenantJson,
        ),
    )
    .add("GET", "/tenants", { summary: "List tenants", query: listSchema }, async (request) =>
      ok(listJson(await tenants.listTenants(request.queryAs(listSchema)), tenantJson)),
    )
    .add("GET", "/tenants/:id", { summary: "Get a tenant" }, async (request) =>
      ok(tenantJson(await tenants.getTenant(request.params.id!))),
    )
    .add(
      "POST",
      "/projects",
      { summary: "Create a project", body: createProjectSchema, status: 201, headers: idempotencyHeaderDoc },
      async (request) =>
        created(
          await tenants.createProject(await request.body(createProjectSchema), idempotency(request)),
          projectJson,
        ),
    )
    .add("GET", "/projects", { summary: "List projects", query: listProjectsSchema }, async (request) =>
      ok(listJson(await tenants.listProjects(request.queryAs(listProjectsSchema)), projectJson)),
    )
    .add("GET", "/projects/:id", { summary: "Get a project" }, async (request) =>
      ok(projectJson(await tenants.getProject(request.params.id!))),
    )
    .add(
      "POST",
      "/keys",
      {
        summary: "Create an API key (the secret is shown once)",
        body: createKeySchema,
        status: 201,
        headers: idempotencyHeaderDoc,
      },
      async (request) => {
        const issued = await keys.createKey(await request.body(createKeySchema), idempotency(request));
        return { status: 201, body: { ...keyView(issued.key), secret: issued.secret } };
      },
    )
    .add("GET", "/keys", { summary: "List API keys", query: listKeysSchema }, async (request) =>
      ok(listJson(await keys.listKeys(request.queryAs(listKeysSchema)), keyView)),
    )
    .add("GET", "/keys/:id", { summary: "Get an API key" }, async (request) =>
      ok(keyView(await keys.getKey(request.params.id!))),
    )
    .add("PATCH", "/keys/:id", { summary: "Update an API key", body: updateKeySchema }, async (request) =>
      ok(keyView(await keys.updateKey(request.params.id!, await request.body(updateKeySchema)))),
    )
    .add(
      "POST",
      "/keys/:id/rotate",
      {
        summary: "Rotate an API key (the new secret is shown once)",
        body: rotateKeySchema,
        status: 201,
        headers: idempotencyHeaderDoc,
      },
      async (request) => {
        const input = await bodyOrEmpty(request, rotateKeySchema);
        const issued = await keys.rotateKey(request.params.id!, input, idempotency(request));
        return {
          status: 201,
          body: { ...keyView(issued.key), secret: issued.secret, previous: keyView(issued.previous) },
        };
      },
    )
    .add("POST", "/keys/:id/revoke", { summary: "Revoke an API key" }, async (request) =>
      ok(keyView(await keys.revokeKey(request.params.id!))),
    );
}

function ok(body: unknown): AdminReply {
  return { status: 200, body };
}

/** 201 with the resource; a retry that found the earlier attempt's also says `idempotent-replayed: true`. */
function created<T, J>(result: Created<T>, view: (value: T) => J): AdminReply {
  return result.replayed
    ? { status: 201, body: view(result.value), headers: { "idempotent-replayed": "true" } }
    : { status: 201, body: view(result.value) };
}

/** A POST whose body is optional: no body means every field takes its default. */
export function bodyOrEmpty<S extends z.ZodType>(request: AdminRequest, schema: S): Promise<z.output<S>> {
  const length = request.headers["content-length"];
  const chunked = request.headers["transfer-encoding"] !== undefined;
  if (!chunked && (length === undefined || length === "0")) return Promise.resolve(schema.parse({}));
  return request.body(schema);
}
