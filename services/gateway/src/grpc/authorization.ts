import type { CallContext } from "@strata/kit";

/** The call's `authorization` metadata, as the HTTP Authorization header would carry it. */
export function authorizationOf(context: CallContext): string | undefined {
  const authorization = context.metadata.get("authorization")[0];
  return typeof authorization === "string" ? authorization : undefined;
}
