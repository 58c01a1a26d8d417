import { durationFlag, onePositional, type Subcommand, stringFlag, UsageError } from "./admin-command.js";
import { json, table, when } from "./cli-output.js";

interface WebhookSecretJson {
  object: "webhook_secret";
  tenant_id: string;
  secret: string;
  algorithm: string;
  signature_header: string;
  rotated_at: number | null;
  previous_secret_expires_at: number | null;
}

const secretTable = (secret: WebhookSecretJson) =>
  table(
    ["TENANT", "ALGORITHM", "HEADER", "ROTATED", "PREVIOUS SIGNS UNTIL"],
    [
      [
        secret.tenant_id,
        secret.algorithm,
        secret.signature_header,
        when(secret.rotated_at),
        when(secret.previous_secret_expires_at),
      ],
    ],
  );

/** The secret set apart so it is easy to copy; unlike a key's, it can be shown again. */
const secretText = (secret: WebhookSecretJson) =>
  `\nSecret (give it to the tenant's webhook receiver):\n\n  ${secret.secret}\n\n`;

function afterRotation(secret: WebhookSecretJson): string {
  const until = secret.previous_secret_expires_at;
  return until === null
    ? "The previous secret no longer signs deliveries.\n"
    : `Deliveries are signed with the previous secret too until ${when(until)}.\n`;
}

/** `strata tenants webhook-secret <tenant-id> [--rotate [--grace 1h]]` */
export const webhookSecretCommand: Subcommand = {
  usage: "webhook-secret <tenant-id> [--rotate [--grace <duration, e.g. 1h; default 1d>]]",
  summary:
    "Show the secret the tenant's job webhooks are signed with; --rotate replaces it, the old one signing too through the grace period.",
  options: { rotate: { type: "boolean" }, grace: { type: "string" } },
  async run({ client, io, json: asJson, positionals, flags }) {
    const path = `/tenants/${encodeURIComponent(onePositional(positionals, "the tenant id"))}/webhook-secret`;
    const grace = stringFlag(flags, "grace");
    if (grace !== undefined && !flags.rotate) throw new UsageError("--grace is only for --rotate");
    // No --grace sends no body, so the gateway's default grace (a day) applies.
    const body = grace === undefined ? undefined : { grace_period_seconds: durationFlag("--grace", grace) };
    const secret = flags.rotate
      ? await client.request<WebhookSecretJson>("POST", `${path}/rotate`, body)
      : await client.request<WebhookSecretJson>("GET", path);
    if (asJson) {
      io.stdout(json(secret));
      return;
    }
    io.stdout(secretTable(secret) + secretText(secret) + (flags.rotate ? afterRotation(secret) : ""));
  },
};
