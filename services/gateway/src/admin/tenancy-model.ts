/** Tenants own projects and API keys; every key belongs to a tenant and optionally one of its projects. */
export interface Tenant {
  id: string;
  name: string;
  metadata: Record<string, string>;
  createdAt: Date;
}

export interface Project {
  id: string;
  tenantId: string;
  name: string;
  metadata: Record<string, string>;
  createdAt: Date;
}

/** An API key as admins see it: everything but the secret, of which only the prefix is kept. */
export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  projectId: string | undefined;
  name: string;
  prefix: string;
  /** undefined allows every model. */
  allowedModels: string[] | undefined;
  metadata: Record<string, string>;
  createdAt: Date;
  expiresAt: Date | undefined;
  /** In the future while a rotation's grace period runs. */
  revokedAt: Date | undefined;
  lastUsedAt: Date | undefined;
  rotatedFrom: string | undefined;
}

export type ApiKeyStatus = "active" | "rotating" | "expired" | "revoked";

export function keyStatus(key: ApiKeyInfo, now: number): ApiKeyStatus {
  if (key.revokedAt && key.revokedAt.getTime() <= now) return "revoked";
  if (key.expiresAt && key.expiresAt.getTime() <= now) return "expired";
  if (key.revokedAt) return "rotating";
  return "active";
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

export interface TenantRow {
  id: string;
  name: string;
  metadata: Record<string, string> | null;
  created_at: Date;
}

export interface ProjectRow extends TenantRow {
  tenant_id: string;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  project_id: string | null;
  name: string;
  key_prefix: string;
  allowed_models: string[] | null;
  metadata: Record<string, string> | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  rotated_from: string | null;
}

export const tenantColumns = "id, name, metadata, created_at";
export const projectColumns = "id, tenant_id, name, metadata, created_at";
export const apiKeyColumns =
  "id, tenant_id, project_id, name, key_prefix, allowed_models, metadata, created_at, expires_at, revoked_at, last_used_at, rotated_from";

export function tenantFrom(row: TenantRow): Tenant {
  return { id: row.id, name: row.name, metadata: row.metadata ?? {}, createdAt: row.created_at };
}

export function projectFrom(row: ProjectRow): Project {
  return { ...tenantFrom(row), tenantId: row.tenant_id };
}

export function apiKeyFrom(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    projectId: row.project_id ?? undefined,
    name: row.name,
    prefix: row.key_prefix,
    allowedModels: row.allowed_models ?? undefined,
    metadata: row.metadata ?? {},
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
    lastUsedAt: row.last_used_at ?? undefined,
    rotatedFrom: row.rotated_from ?? undefined,
  };
}
