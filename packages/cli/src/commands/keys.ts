import {
  durationFlag,
  type FlagValues,
  idempotencyHeader,
  moreHint,
  noPositionals,
  onePositional,
  type Subcommand,
  stringFlag,
  UsageError,
  withMetadata,
} from "./admin-command.js";
import { listItems, listOptions } from "./admin-list.js";
import { json, metadataText, table, when } from "./cli-output.js";

interface KeyJson {
  id: string;
  tenant_id: string;
  project_id: string | null;
  name: string;
  prefix: string;
  status: string;
  allowed_models: string[] | null;
  metadata: Record<string, string>;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  secret?: string;
  previous?: KeyJson;
}

const keyTable = (keys: KeyJson[]) =>
  table(
    ["ID", "NAME", "PREFIX", "STATUS", "TENANT", "PROJECT", "MODELS", "EXPIRES", "LAST USED", "METADATA"],
    keys.map((key) => [
      key.id,
      key.name,
      key.prefix,
      key.status === "rotating" ? `rotating (until ${when(key.revoked_at)})` : key.status,
      key.tenant_id,
      key.project_id ?? "-",
      key.allowed_models?.join(",") ?? "all",
      when(key.expires_at),
      when(key.last_used_at),
      metadataText(key.metadata),
    ]),
  );

/** The secret, set apart so it is easy to copy, and the one warning that matters. */
function secretText(key: KeyJson): string {
  return `\nSecret (shown only this once; store it now):\n\n  ${key.secret}\n\n`;
}

const expiryOptions = { "expires-in": { type: "string" }, "expires-at": { type: "string" } } as const;

/** --expires-in 30d or --expires-at 2025-12-31T00:00:00Z as Unix seconds; undefined when neither is given. */
function expiresAt(flags: FlagValues): number | undefined {
  const relative = stringFlag(flags, "expires-in");
  const absolute = stringFlag(flags, "expires-at");
  if (relative && absolute) throw new UsageError("give --expires-in or --expires-at, not both");
  if (relative) return Math.floor(Date.now() / 1000) + durationFlag("--expires-in", relative);
  if (!absolute) return undefined;
  const time = /^\d+$/.test(absolute) ? Number(absolute) * 1000 : Date.parse(absolute);
  if (Number.isNaN(time))
    throw new UsageError(`--expires-at takes an ISO 8601 time or Unix seconds; got "${absolute}"`);
  return Math.floor(time / 1000);
}

function modelsFlag(flags: FlagValues): string[] | undefined {
  const models = stringFlag(flags, "models");
  if (models === undefined) return undefined;
  const list = models
    .split(",")
    .map((model) => model.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError("--models takes a comma-separated list of model names");
  return list;
}

const keyPath = (positionals: string[]) =>
  `/keys/${encodeURIComponent(onePositional(positionals, "the key id"))}`;

/** `strata keys ...` */
export const keyCommands: Record<string, Subcommand> = {
  create: {
    usage:
      "create <name> (--tenant <id> | --project <id>) [--models a,b] [--expires-in 30d | --expires-at <time>] [--metadata key=value]...",
    summary: "Create an API key; its secret is printed once and never again.",
    options: {
      tenant: { type: "string" },
      project: { type: "string" },
      models: { type: "string" },
      metadata: { type: "string", multiple: true },
      "idempotency-key": { type: "string" },
      ...expiryOptions,
    },
    async run({ client, io, json: asJson, positionals, flags }) {
      const name = onePositional(positionals, "the key's name");
      const tenant = stringFlag(flags, "tenant");
      const project = stringFlag(flags, "project");
      if (!tenant && !project) throw new UsageError("missing --tenant <id> or --project <id>");
      const models = modelsFlag(flags);
      const expiry = expiresAt(flags);
      const body = {
        name,
        ...(tenant ? { tenant_id: tenant } : {}),
        ...(project ? { project_id: project } : {}),
        ...(models ? { allowed_models: models } : {}),
        ...(expiry !== undefined ? { expires_at: expiry } : {}),
        ...withMetadata(flags.metadata),
      };
      const key = await client.request<KeyJson>("POST", "/keys", body, idempotencyHeader(flags));
      io.stdout(asJson ? json(key) : keyTable([key]) + secretText(key));
    },
  },
  list: {
    usage: "list [--tenant <id>] [--project <id>] [--limit <n>] [--after <id>]",
    summary: "List API keys (never their secrets), oldest first.",
    options: { ...listOptions, tenant: { type: "string" }, project: { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const filters = { tenant_id: stringFlag(flags, "tenant"), project_id: stringFlag(flags, "project") };
      const { items, more } = await listItems<KeyJson>(client, "/keys", filters, flags);
      io.stdout(asJson ? json(items) : keyTable(items) + moreHint(more));
    },
  },
  get: {
    usage: "get <key-id>",
    summary: "Show one API key.",
    async run({ client, io, json: asJson, positionals }) {
      const key = await client.request<KeyJson>("GET", keyPath(positionals));
      io.stdout(asJson ? json(key) : keyTable([key]));
    },
  },
  update: {
    usage:
      "update <key-id> [--name <name>] [--models a,b | --all-models] [--expires-in 30d | --expires-at <time> | --no-expiry] [--metadata key=value]...",
    summary: "Change a key's settings; every gateway replica applies them at once.",
    options: {
      name: { type: "string" },
      models: { type: "string" },
      "all-models": { type: "boolean" },
      "no-expiry": { type: "boolean" },
      metadata: { type: "string", multiple: true },
      ...expiryOptions,
    },
    async run({ client, io, json: asJson, positionals, flags }) {
      const path = keyPath(positionals);
      const body: Record<string, unknown> = { ...withMetadata(flags.metadata) };
      const name = stringFlag(flags, "name");
      if (name) body.name = name;
      if (flags["all-models"] && flags.models)
        throw new UsageError("give --models or --all-models, not both");
      const models = modelsFlag(flags);
      if (flags["all-models"]) body.allowed_models = null;
      else if (models) body.allowed_models = models;
      const expiry = expiresAt(flags);
      if (flags["no-expiry"] && expiry !== undefined)
        throw new UsageError("give an expiry or --no-expiry, not both");
      if (flags["no-expiry"]) body.expires_at = null;
      else if (expiry !== undefined) body.expires_at = expiry;
      if (Object.keys(body).length === 0)
        throw new UsageError("nothing to update: give at least one setting");
      const key = await client.request<KeyJson>("PATCH", path, body);
      io.stdout(asJson ? json(key) : keyTable([key]));
    },
  },
  rotate: {
    usage: "rotate <key-id> [--grace <duration, e.g. 1h>] [--idempotency-key <key>]",
    summary:
      "Issue a new secret with the same settings; the old key works through the grace period, then is revoked.",
    options: { grace: { type: "string" }, "idempotency-key": { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      const path = `${keyPath(positionals)}/rotate`;
      const grace = stringFlag(flags, "grace");
      const key = await client.request<KeyJson>(
        "POST",
        path,
        { grace_period_seconds: grace ? durationFlag("--grace", grace) : 0 },
        idempotencyHeader(flags),
      );
      if (asJson) {
        io.stdout(json(key));
        return;
      }
      const old = key.previous!;
      const until = old.status === "revoked" ? "now revoked" : `valid until ${when(old.revoked_at)}`;
      io.stdout(`${keyTable([key])}${secretText(key)}The old key ${old.id} is ${until}.\n`);
    },
  },
  revoke: {
    usage: "revoke <key-id>",
    summary: "Revoke a key at once, on every gateway replica.",
    async run({ client, io, json: asJson, positionals }) {
      const key = await client.request<KeyJson>("POST", `${keyPath(positionals)}/revoke`);
      io.stdout(asJson ? json(key) : keyTable([key]));
    },
  },
};
