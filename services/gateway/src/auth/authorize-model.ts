import { StrataError } from "@strata/kit";
import type { AuthContext } from "./auth-context.js";

/**
 * The authorize step: a key limited to some models may call only those, named as the client names them
 * (an alias is allowed by its own name, whatever it resolves to).
 */
export function authorizeModel(auth: Pick<AuthContext, "allowedModels">, model: string): void {
  if (auth.allowedModels === undefined || auth.allowedModels.includes(model)) return;
  throw new StrataError("permission_denied", `This API key is not allowed to use the model '${model}'.`, {
    param: "model",
  });
}

/** The models of a list this key may see (for `/v1/models`). */
export function visibleModels<T extends { id: string }>(
  auth: Pick<AuthContext, "allowedModels">,
  models: T[],
): T[] {
  const allowed = auth.allowedModels;
  return allowed === undefined ? models : models.filter((model) => allowed.includes(model.id));
}

/** The pipeline's authorize step: the key must be allowed the requested model. */
export const modelAuthorizer = {
  authorize(call: { auth: Pick<AuthContext, "allowedModels">; request: { model: string } }): void {
    authorizeModel(call.auth, call.request.model);
  },
};
