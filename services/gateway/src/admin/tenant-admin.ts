import { type Database, type Logger, StrataError } from "@strata/kit";
import { newId } from "../auth/api-key-secret.js";
import { idempotentCreate } from "./idempotency.js";
import { listPage } from "./list-page.js";
import { isUniqueViolation, notFound, rows, type Sql } from "./sql.js";
import {
  type Page,
  type Project,
  type ProjectRow,
  projectColumns,
  projectFrom,
  type Tenant,
  type TenantRow,
  tenantColumns,
  tenantFrom,
} from "./tenancy-model.js";
import type {
  CreateProjectInput,
  CreateTenantInput,
  ListInput,
  ListProjectsInput,
} from "./tenancy-schemas.js";

export interface Created<T> {
  value: T;
  /** True when an Idempotency-Key retry returned what an earlier attempt created. */
  replayed: boolean;
}

/** Tenants and their projects: create, list, get. */
export class TenantAdmin {
  constructor(
    private readonly db: Database,
    private readonly logger: Pick<Logger, "info">,
  ) {}

  async createTenant(input: CreateTenantInput, key?: string): Promise<Created<Tenant>> {
    const created = await idempotentCreate(this.db, {
      scope: "tenants.create",
      key,
      request: input,
      newId: () => newId("ten"),
      load: (sql, id) => this.tenantIn(sql, id),
      create: async (sql, id) => {
        try {
          const [row] = await rows<TenantRow>(
            sql,
            `INSERT INTO gateway.tenants (id, name, metadata) VALUES ($1, $2, $3) RETURNING ${tenantColumns}`,
            [id, input.name, input.metadata],
          );
          return tenantFrom(row!);
        } catch (error) {
          if (isUniqueViolation(error))
            throw new StrataError("conflict", `A tenant named '${input.name}' already exists.`, {
              param: "name",
              cause: error,
            });
          throw error;
        }
      },
    });
    if (!created.replayed)
      this.logger.info({ tenantId: created.value.id, name: input.name }, "tenant created");
    return created;
  }

  async listTenants(input: ListInput): Promise<Page<Tenant>> {
    const page = await listPage<TenantRow>(this.db, {
      table: "tenants",
      columns: tenantColumns,
      filters: {},
      ...input,
    });
    return { items: page.items.map(tenantFrom), hasMore: page.hasMore };
  }

  getTenant(id: string): Promise<Tenant> {
    return this.tenantIn(this.db, id);
  }

  async tenantIn(sql: Sql, id: string, param?: string): Promise<Tenant> {
    const [row] = await rows<TenantRow>(sql, `SELECT ${tenantColumns} FROM gateway.tenants WHERE id = $1`, [
      id,
    ]);
    if (!row) throw notFound("tenant", id, param);
    return tenantFrom(row);
  }

  async createProject(input: CreateProjectInput, key?: string): Promise<Created<Project>> {
    const created = await idempotentCreate(this.db, {
      scope: "projects.create",
      key,
      request: input,
      newId: () => newId("proj"),
      load: (sql, id) => this.projectIn(sql, id),
      create: async (sql, id) => {
        await this.tenantIn(sql, input.tenant_id, "tenant_id");
        try {
          const [row] = await rows<ProjectRow>(
            sql,
            `INSERT INTO gateway.projects (id, tenant_id, name, metadata) VALUES ($1, $2, $3, $4)
             RETURNING ${projectColumns}`,
            [id, input.tenant_id, input.name, input.metadata],
          );
          return projectFrom(row!);
        } catch (error) {
          if (isUniqueViolation(error))
            throw new StrataError(
              "conflict",
              `Tenant '${input.tenant_id}' already has a project named '${input.name}'.`,
              { param: "name", cause: error },
            );
          throw error;
        }
      },
    });
    if (!created.replayed)
      this.logger.info(
        { projectId: created.value.id, tenantId: input.tenant_id, name: input.name },
        "project created",
      );
    return created;
  }

  async listProjects(input: ListProjectsInput): Promise<Page<Project>> {
    if (input.tenant_id !== undefined) await this.tenantIn(this.db, input.tenant_id, "tenant_id");
    const page = await listPage<ProjectRow>(this.db, {
      table: "projects",
      columns: projectColumns,
      filters: { tenant_id: input.tenant_id },
      limit: input.limit,
      after: input.after,
    });
    return { items: page.items.map(projectFrom), hasMore: page.hasMore };
  }

  getProject(id: string): Promise<Project> {
    return this.projectIn(this.db, id);
  }

  async projectIn(sql: Sql, id: string, param?: string): Promise<Project> {
    const [row] = await rows<ProjectRow>(
      sql,
      `SELECT ${projectColumns} FROM gateway.projects WHERE id = $1`,
      [id],
    );
    if (!row) throw notFound("project", id, param);
    return projectFrom(row);
  }
}
