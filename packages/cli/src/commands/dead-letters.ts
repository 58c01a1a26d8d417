import { deadLetterKinds } from "@strata/gateway";
import {
  type FlagValues,
  moreHint,
  noPositionals,
  onePositional,
  type Subcommand,
  stringFlag,
  UsageError,
} from "./admin-command.js";
import { limitFlag, listItems, listOptions } from "./admin-list.js";
import { json, table, when } from "./cli-output.js";

interface DeadLetterJson {
  id: string;
  kind: string;
  subject: string;
  consumer: string;
  deliveries: number;
  job_id: string | null;
  batch_id: string | null;
  tenant_id: string | null;
  error: { code: string; message: string } | null;
  created_at: number;
  replayed_at: number | null;
}

interface ReplayMatchingJson {
  replayed: string[];
  failed: { id: string; error: { code: string; message: string } }[];
}

const kinds: readonly string[] = deadLetterKinds;

const letterTable = (letters: DeadLetterJson[]) =>
  table(
    ["ID", "KIND", "TENANT", "ABOUT", "DELIVERIES", "CREATED", "REPLAYED", "ERROR"],
    letters.map((letter) => [
      letter.id,
      letter.kind,
      letter.tenant_id ?? "-",
      letter.job_id ?? letter.batch_id ?? "-",
      String(letter.deliveries),
      when(letter.created_at),
      when(letter.replayed_at),
      letter.error?.message ?? "-",
    ]),
  );

/** --kind and --tenant as the API's filters; a kind it does not know is a usage error here. */
function filters(flags: FlagValues): { kind?: string; tenant_id?: string } {
  const kind = stringFlag(flags, "kind");
  if (kind !== undefined && !kinds.includes(kind))
    throw new UsageError(`--kind takes ${kinds.join(", ")}; got "${kind}"`);
  const tenant = stringFlag(flags, "tenant");
  return { ...(kind ? { kind } : {}), ...(tenant ? { tenant_id: tenant } : {}) };
}

const filterOptions = { kind: { type: "string" }, tenant: { type: "string" } } as const;

/** `strata dead-letters ...`: work items and usage events given up on after their last delivery. */
export const deadLetterCommands: Record<string, Subcommand> = {
  list: {
    usage: `list [--kind ${kinds.join("|")}] [--tenant <id>] [--replayed true|false] [--limit <n>] [--after <id>]`,
    summary: "List dead letters, newest first.",
    options: { ...listOptions, ...filterOptions, replayed: { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const replayed = stringFlag(flags, "replayed");
      if (replayed !== undefined && replayed !== "true" && replayed !== "false")
        throw new UsageError(`--replayed takes true or false; got "${replayed}"`);
      const query = { ...filters(flags), replayed };
      const { items, more } = await listItems<DeadLetterJson>(client, "/dead-letters", query, flags, 100);
      io.stdout(asJson ? json(items) : letterTable(items) + moreHint(more));
    },
  },
  show: {
    usage: "show <id>",
    summary: "Show one dead letter.",
    async run({ client, io, json: asJson, positionals }) {
      const id = onePositional(positionals, "the dead letter's id");
      const letter = await client.request<DeadLetterJson>("GET", `/dead-letters/${encodeURIComponent(id)}`);
      io.stdout(asJson ? json(letter) : letterTable([letter]));
    },
  },
  replay: {
    usage: "replay <id>",
    summary:
      "Replay one dead letter: its job runs again, its webhook is sent again, its usage event is written.",
    async run({ client, io, json: asJson, positionals }) {
      const id = onePositional(positionals, "the dead letter's id");
      const path = `/dead-letters/${encodeURIComponent(id)}/replay`;
      const letter = await client.request<DeadLetterJson>("POST", path, {});
      io.stdout(asJson ? json(letter) : letterTable([letter]));
    },
  },
  "replay-all": {
    usage: `replay-all [--kind ${kinds.join("|")}] [--tenant <id>] [--limit <n>]`,
    summary: "Replay every dead letter not yet replayed that matches (at most --limit, default 100).",
    options: { ...filterOptions, limit: { type: "string" } },
    async run({ client, io, json: asJson, positionals, flags }) {
      noPositionals(positionals);
      const limit = limitFlag(flags, 10_000);
      const body = { ...filters(flags), ...(limit === undefined ? {} : { limit }) };
      const result = await client.request<ReplayMatchingJson>("POST", "/dead-letters/replay", body);
      if (asJson) {
        io.stdout(json(result));
        return;
      }
      const failures = result.failed.map(({ id, error }) => `${id}: ${error.message} (${error.code})\n`);
      io.stdout(`replayed ${result.replayed.length}, failed ${result.failed.length}\n${failures.join("")}`);
    },
  },
};
