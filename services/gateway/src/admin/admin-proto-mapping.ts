import type { MessageInitShape } from "@bufbuild/protobuf";
import { gatewayAdminV1 } from "@strata/proto";
import { type ApiKeyInfo, type ApiKeyStatus, keyStatus, type Project, type Tenant } from "./tenancy-model.js";

type ApiKeyMessage = MessageInitShape<typeof gatewayAdminV1.ApiKeySchema>;

const seconds = (date: Date): bigint => BigInt(Math.floor(date.getTime() / 1000));
export const optionalSeconds = (date: Date | undefined): bigint | undefined =>
  date ? seconds(date) : undefined;

const statusMessage: Record<ApiKeyStatus, gatewayAdminV1.ApiKeyStatus> = {
  active: gatewayAdminV1.ApiKeyStatus.ACTIVE,
  rotating: gatewayAdminV1.ApiKeyStatus.ROTATING,
  expired: gatewayAdminV1.ApiKeyStatus.EXPIRED,
  revoked: gatewayAdminV1.ApiKeyStatus.REVOKED,
};

export function tenantMessage(tenant: Tenant): MessageInitShape<typeof gatewayAdminV1.TenantSchema> {
  return {
    id: tenant.id,
    name: tenant.name,
    metadata: tenant.metadata,
    createdAt: seconds(tenant.createdAt),
  };
}

export function projectMessage(project: Project): MessageInitShape<typeof gatewayAdminV1.ProjectSchema> {
  return {
    id: project.id,
    tenantId: project.tenantId,
    name: project.name,
    metadata: project.metadata,
    createdAt: seconds(project.createdAt),
  };
}

export function apiKeyMessage(key: ApiKeyInfo, now: number): ApiKeyMessage {
  return {
    id: key.id,
    tenantId: key.tenantId,
    projectId: key.projectId ?? "",
    name: key.name,
    prefix: key.prefix,
    ...(key.allowedModels ? { allowedModels: { models: key.allowedModels } } : {}),
    metadata: key.metadata,
    createdAt: seconds(key.createdAt),
    expiresAt: optionalSeconds(key.expiresAt),
    revokedAt: optionalSeconds(key.revokedAt),
    lastUsedAt: optionalSeconds(key.lastUsedAt),
    rotatedFrom: key.rotatedFrom ?? "",
    status: statusMessage[keyStatus(key, now)],
  };
}

/** proto3 strings default to "": an empty one is a field the caller did not set. */
export const given = (value: string): string | undefined => (value === "" ? undefined : value);

/** A ModelList as the admin input it stands for: unset or empty allows every model. */
export function modelsInput(list: gatewayAdminV1.ModelList | undefined): string[] | null | undefined {
  if (!list) return undefined;
  return list.models.length > 0 ? list.models : null;
}

export function secondsInput(value: bigint | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
