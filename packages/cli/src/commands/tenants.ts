import {
  idempotencyHeader,
  moreHint,
  noPositionals,
  onePositional,
  type Subcommand,
  withMetadata,
} from "./admin-command.js";
import { listItems, listOptions } from "./admin-list.js";
import { json, metadataText, table, when } from "./cli-output.js";
import { webhookSecretCommand } from "./tenant-webhook-secret.js";

export interface TenantJson {
  id: string;
  name: string;
  metadata: Record<string, string>;
  created_at: number;
}

const tenantTable = (tenants: TenantJson[]) =>
  table(
    ["ID", "NAME", "CREATED", "METADATA"],
    tenants.map((tenant) => [tenant.id, tenant.name, when(tenant.created_at), metadataText(tenant.metadata)]),
  );

/** `strata tenants ...` */
export const tenantCommands: Record<string, Subcommand> = {
  create: {
    usage: "create <name> [--metadata key=value]... [--idempotency-key <key>]",
    summary: "Create a tenant.",
    options: { metadata: { type: "string", multiple: true }, "idempotency-key": { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      const name = onePositional(positionals, "the tenant's name");
      const tenant = await client.request<TenantJson>(
        "POST",
        "/tenants",
        { name, ...withMetadata(flags.metadata) },
        idempotencyHeader(flags),
      );
      io.stdout(asJson ? json(tenant) : tenantTable([tenant]));
    },
  },
  list: {
    usage: "list [--limit <n>] [--after <id>]",
    summary: "List tenants, oldest first.",
    options: listOptions,
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const { items, more } = await listItems<TenantJson>(client, "/tenants", {}, flags);
      io.stdout(asJson ? json(items) : tenantTable(items) + moreHint(more));
    },
  },
  get: {
    usage: "get <tenant-id>",
    summary: "Show one tenant.",
    async run({ client, io, json: asJson, positionals }) {
      const id = onePositional(positionals, "the tenant id");
      const tenant = await client.request<TenantJson>("GET", `/tenants/${encodeURIComponent(id)}`);
      io.stdout(asJson ? json(tenant) : tenantTable([tenant]));
    },
  },
  "webhook-secret": webhookSecretCommand,
};
