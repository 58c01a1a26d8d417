import type { Database, Logger } from "@strata/kit";
import type { KeyInvalidation } from "../auth/key-invalidation.js";
import type { WebhookSecretAdmin } from "../jobs/webhook-secret-admin.js";
import { adminService } from "./admin-grpc-service.js";
import type { AdminRouter } from "./admin-router.js";
import { ApiKeyAdmin } from "./api-key-admin.js";
import { registerTenancyRoutes } from "./tenancy-routes.js";
import { TenantAdmin } from "./tenant-admin.js";

export interface TenancyDeps {
  db: Database;
  /** The HMAC key under which API key secrets are stored. */
  hashKey: string;
  invalidation: Pick<KeyInvalidation, "keyChanged">;
  logger: Pick<Logger, "info">;
  /** The AdminService also shows and rotates tenants' job webhook secrets (their HTTP routes are the jobs module's). */
  webhookSecrets: Pick<WebhookSecretAdmin, "get" | "rotate">;
  now?: () => number;
}

/**
 * Tenants, projects and API keys administration: registers the HTTP routes on the admin router and
 * returns the gRPC AdminService, both behind the router's admin credential.
 */
export function registerTenancy(router: AdminRouter, deps: TenancyDeps) {
  const tenants = new TenantAdmin(deps.db, deps.logger);
  const keys = new ApiKeyAdmin({ ...deps, tenants });
  registerTenancyRoutes(router, { tenants, keys, ...(deps.now ? { now: deps.now } : {}) });
  return {
    tenants,
    keys,
    service: adminService({
      credential: router.credential,
      tenants,
      keys,
      webhookSecrets: deps.webhookSecrets,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  };
}
