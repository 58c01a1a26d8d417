import { type ApiKeyInfo, keyStatus, type Page, type Project, type Tenant } from "./tenancy-model.js";

// The admin API's JSON shapes: snake_case and Unix seconds, like OpenAI's own objects.

const seconds = (date: Date | undefined): number | null =>
  date === undefined ? null : Math.floor(date.getTime() / 1000);

export function tenantJson(tenant: Tenant) {
  return {
    object: "tenant",
    id: tenant.id,
    name: tenant.name,
    metadata: tenant.metadata,
    created_at: seconds(tenant.createdAt),
  };
}

export function projectJson(project: Project) {
  return {
    object: "project",
    id: project.id,
    tenant_id: project.tenantId,
    name: project.name,
    metadata: project.metadata,
    created_at: seconds(project.createdAt),
  };
}

/** Never carries the secret: only its prefix is stored. */
export function apiKeyJson(key: ApiKeyInfo, now: number) {
  return {
    object: "api_key",
    id: key.id,
    tenant_id: key.tenantId,
    project_id: key.projectId ?? null,
    name: key.name,
    prefix: key.prefix,
    status: keyStatus(key, now),
    allowed_models: key.allowedModels ?? null,
    metadata: key.metadata,
    created_at: seconds(key.createdAt),
    expires_at: seconds(key.expiresAt),
    revoked_at: seconds(key.revokedAt),
    last_used_at: seconds(key.lastUsedAt),
    rotated_from: key.rotatedFrom ?? null,
  };
}

/** OpenAI's list envelope; clients page on with `after` = last_id while has_more. */
export function listJson<T extends { id: string }, J>(page: Page<T>, view: (item: T) => J) {
  return {
    object: "list" as const,
    data: page.items.map(view),
    first_id: page.items[0]?.id ?? null,
    last_id: page.items.at(-1)?.id ?? null,
    has_more: page.hasMore,
  };
}
