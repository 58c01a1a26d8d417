import {
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

interface ProjectJson {
  id: string;
  tenant_id: string;
  name: string;
  metadata: Record<string, string>;
  created_at: number;
}

const projectTable = (projects: ProjectJson[]) =>
  table(
    ["ID", "TENANT", "NAME", "CREATED", "METADATA"],
    projects.map((project) => [
      project.id,
      project.tenant_id,
      project.name,
      when(project.created_at),
      metadataText(project.metadata),
    ]),
  );

/** `strata projects ...` */
export const projectCommands: Record<string, Subcommand> = {
  create: {
    usage: "create <name> --tenant <tenant-id> [--metadata key=value]... [--idempotency-key <key>]",
    summary: "Create a project inside a tenant.",
    options: {
      tenant: { type: "string" },
      metadata: { type: "string", multiple: true },
      "idempotency-key": { type: "string" },
    },
    async run({ client, io, json: asJson, positionals, flags }) {
      const name = onePositional(positionals, "the project's name");
      const tenant = stringFlag(flags, "tenant");
      if (!tenant) throw new UsageError("missing --tenant <tenant-id>");
      const project = await client.request<ProjectJson>(
        "POST",
        "/projects",
        { tenant_id: tenant, name, ...withMetadata(flags.metadata) },
        idempotencyHeader(flags),
      );
      io.stdout(asJson ? json(project) : projectTable([project]));
    },
  },
  list: {
    usage: "list [--tenant <tenant-id>] [--limit <n>] [--after <id>]",
    summary: "List projects, of one tenant or of all.",
    options: { ...listOptions, tenant: { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const filters = { tenant_id: stringFlag(flags, "tenant") };
      const { items, more } = await listItems<ProjectJson>(client, "/projects", filters, flags);
      io.stdout(asJson ? json(items) : projectTable(items) + moreHint(more));
    },
  },
};
