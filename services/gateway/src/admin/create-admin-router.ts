import type { ApiKeyStore } from "../auth/api-key-store.js";
import type { AdminConfig } from "./admin-config.js";
import { AdminCredential, loadAdminTokenDigest } from "./admin-credential.js";
import { AdminRouter } from "./admin-router.js";

export interface AdminRouterDeps {
  config: AdminConfig;
  keys: Pick<ApiKeyStore, "authenticate">;
  maxBodyBytes: number;
}

/** The admin credential and an empty admin router; each concern then registers its own routes on it. */
export async function createAdminRouter(deps: AdminRouterDeps): Promise<AdminRouter> {
  const credential = new AdminCredential({
    tokenSha256: await loadAdminTokenDigest(deps.config),
    isApiKey: (secret) =>
      deps.keys.authenticate(`Bearer ${secret}`).then(
        () => true,
        () => false,
      ),
  });
  return new AdminRouter({ credential, maxBodyBytes: deps.maxBodyBytes });
}
