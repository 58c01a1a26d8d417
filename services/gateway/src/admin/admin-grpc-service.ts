import type { CallContext, ServiceImpl } from "@strata/kit";
import type { gatewayAdminV1 } from "@strata/proto";
import { authorizationOf } from "../grpc/authorization.js";
import type { WebhookSecretAdmin } from "../jobs/webhook-secret-admin.js";
import { webhookSecretMethods } from "../jobs/webhook-secret-grpc.js";
import type { AdminCredential } from "./admin-credential.js";
import {
  apiKeyMessage,
  given,
  modelsInput,
  projectMessage,
  secondsInput,
  tenantMessage,
} from "./admin-proto-mapping.js";
import { requireId, validateInput } from "./admin-validation.js";
import type { ApiKeyAdmin } from "./api-key-admin.js";
import { idempotencyKey } from "./idempotency.js";
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
import type { TenantAdmin } from "./tenant-admin.js";

export interface AdminServiceDeps {
  credential: Pick<AdminCredential, "verify">;
  tenants: TenantAdmin;
  keys: ApiKeyAdmin;
  /** Tenants' job webhook signing secrets (the jobs module owns them). */
  webhookSecrets: Pick<WebhookSecretAdmin, "get" | "rotate">;
  now?: () => number;
}

type Impl = ServiceImpl<typeof gatewayAdminV1.AdminService>;

/** The gRPC AdminService: the HTTP admin API's operations, validation and errors, as gRPC status codes. */
export function adminService(deps: AdminServiceDeps): Impl {
  const now = deps.now ?? Date.now;
  const { tenants } = deps;
  const key = (info: Parameters<typeof apiKeyMessage>[0]) => apiKeyMessage(info, now());

  /** Every method checks the admin credential before it reads its request. */
  const guarded =
    <R, O>(handler: (request: R) => Promise<O>) =>
    async (request: R, context: CallContext): Promise<O> => {
      await deps.credential.verify(authorizationOf(context));
      return handler(request);
    };

  const impl: Impl = {
    createTenant: guarded(async (request) => {
      const input = validateInput(createTenantSchema, { name: request.name, metadata: request.metadata });
      const created = await tenants.createTenant(input, idempotencyKey(given(request.idempotencyKey)));
      return { tenant: tenantMessage(created.value) };
    }),
    listTenants: guarded(async (request) => {
      const page = await tenants.listTenants(validateInput(listSchema, pageInput(request)));
      return { tenants: page.items.map(tenantMessage), hasMore: page.hasMore };
    }),
    getTenant: guarded(async (request) => ({
      tenant: tenantMessage(await tenants.getTenant(requireId(request.id))),
    })),
    createProject: guarded(async (request) => {
      const input = validateInput(createProjectSchema, {
        tenant_id: given(request.tenantId),
        name: request.name,
        metadata: request.metadata,
      });
      const created = await tenants.createProject(input, idempotencyKey(given(request.idempotencyKey)));
      return { project: projectMessage(created.value) };
    }),
    listProjects: guarded(async (request) => {
      const input = validateInput(listProjectsSchema, {
        ...pageInput(request),
        tenant_id: given(request.tenantId),
      });
      const page = await tenants.listProjects(input);
      return { projects: page.items.map(projectMessage), hasMore: page.hasMore };
    }),
    getProject: guarded(async (request) => ({
      project: projectMessage(await tenants.getProject(requireId(request.id))),
    })),
    ...keyMethods(deps, guarded, key),
    ...webhookSecretMethods(deps.webhookSecrets, guarded),
  };
  return impl;
}

/** Wraps an admin method so it checks the admin credential before it reads its request. */
export type AdminGuard = <R, O>(
  handler: (request: R) => Promise<O>,
) => (request: R, context: CallContext) => Promise<O>;

function keyMethods(
  deps: AdminServiceDeps,
  guarded: AdminGuard,
  key: (info: Parameters<typeof apiKeyMessage>[0]) => ReturnType<typeof apiKeyMessage>,
) {
  const { keys } = deps;
  return {
    createApiKey: guarded(async (request: gatewayAdminV1.CreateApiKeyRequest) => {
      const input = validateInput(createKeySchema, {
        tenant_id: given(request.tenantId),
        project_id: given(request.projectId),
        name: request.name,
        allowed_models: modelsInput(request.allowedModels) ?? undefined,
        metadata: request.metadata,
        expires_at: secondsInput(request.expiresAt),
      });
      const issued = await keys.createKey(input, idempotencyKey(given(request.idempotencyKey)));
      return { apiKey: key(issued.key), secret: issued.secret };
    }),
    listApiKeys: guarded(async (request: gatewayAdminV1.ListApiKeysRequest) => {
      const input = validateInput(listKeysSchema, {
        ...pageInput(request),
        tenant_id: given(request.tenantId),
        project_id: given(request.projectId),
      });
      const page = await keys.listKeys(input);
      return { apiKeys: page.items.map(key), hasMore: page.hasMore };
    }),
    getApiKey: guarded(async (request: gatewayAdminV1.GetApiKeyRequest) => ({
      apiKey: key(await keys.getKey(requireId(request.id))),
    })),
    updateApiKey: guarded(async (request: gatewayAdminV1.UpdateApiKeyRequest) => {
      const expiresAt = secondsInput(request.expiresAt);
      const input = validateInput(updateKeySchema, {
        name: request.name,
        allowed_models: modelsInput(request.allowedModels),
        metadata: request.metadata?.entries,
        expires_at: expiresAt === 0 ? null : expiresAt,
      });
      return { apiKey: key(await keys.updateKey(requireId(request.id), input)) };
    }),
    rotateApiKey: guarded(async (request: gatewayAdminV1.RotateApiKeyRequest) => {
      const input = validateInput(rotateKeySchema, { grace_period_seconds: request.gracePeriodSeconds });
      const issued = await keys.rotateKey(
        requireId(request.id),
        input,
        idempotencyKey(given(request.idempotencyKey)),
      );
      return { apiKey: key(issued.key), secret: issued.secret, previous: key(issued.previous) };
    }),
    revokeApiKey: guarded(async (request: gatewayAdminV1.RevokeApiKeyRequest) => ({
      apiKey: key(await keys.revokeKey(requireId(request.id))),
    })),
  };
}

function pageInput(request: { limit: number; after: string }) {
  return { limit: request.limit === 0 ? undefined : request.limit, after: given(request.after) };
}
