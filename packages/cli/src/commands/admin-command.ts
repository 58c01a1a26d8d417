import { type ParseArgsConfig, parseArgs } from "node:util";
import { ConfigError } from "@strata/kit";
import { resolveAdminCliSettings } from "./admin-cli-settings.js";
import { AdminApiError, AdminClient } from "./admin-client.js";
import type { CliIo } from "./cli-output.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** A mistake in how the command was typed: reported with the usage, exit code 64. */
export class UsageError extends Error {}

export interface SubcommandContext {
  client: AdminClient;
  io: CliIo;
  /** Print the API's JSON instead of a table. */
  json: boolean;
  positionals: string[];
  flags: FlagValues;
}

export interface Subcommand {
  /** e.g. "create <name> --tenant <id> [--models a,b]" */
  usage: string;
  summary: string;
  options?: Options;
  run(context: SubcommandContext): Promise<void>;
}

const globalOptions: Options = {
  "gateway-url": { type: "string" },
  "admin-token": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

const globalHelp = `global flags:
  --gateway-url <url>    the gateway (env STRATA_GATEWAY_URL; default http://127.0.0.1:8080)
  --admin-token <token>  the gateway's admin token (env STRATA_ADMIN_TOKEN; default: .strata/admin-token)
  --json                 print the API's JSON instead of a table`;

export const exitCodes = { ok: 0, failed: 1, usage: 64, config: 78 } as const;

/** Runs `strata <group> <subcommand> ...`; returns the process exit code. */
export async function runAdminCommand(
  group: string,
  subcommands: Record<string, Subcommand>,
  argv: string[],
  io: CliIo,
  env: Record<string, string | undefined>,
): Promise<number> {
  const name = argv[0];
  const usage = groupUsage(group, subcommands);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.stderr : io.stdout)(usage);
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const subcommand = subcommands[name];
  if (!subcommand) {
    io.stderr(`error: unknown command "strata ${group} ${name}"\n\n${usage}`);
    return exitCodes.usage;
  }
  try {
    const parsed = parseArgs({
      args: argv.slice(1),
      options: { ...globalOptions, ...subcommand.options },
      allowPositionals: true,
      strict: true,
    });
    const flags = parsed.values as FlagValues;
    if (flags.help) {
      io.stdout(`usage: strata ${group} ${subcommand.usage}\n\n${subcommand.summary}\n\n${globalHelp}\n`);
      return exitCodes.ok;
    }
    const settings = await resolveAdminCliSettings(flags as Record<string, string | undefined>, env);
    const client = new AdminClient({ baseUrl: settings.gatewayUrl, token: settings.adminToken });
    await subcommand.run({ client, io, json: Boolean(flags.json), positionals: parsed.positionals, flags });
    return exitCodes.ok;
  } catch (error) {
    return reportFailure(error, io, `usage: strata ${group} ${subcommand.usage}\n`);
  }
}

function reportFailure(error: unknown, io: CliIo, usage: string): number {
  if (error instanceof AdminApiError) {
    const detail = error.status === 0 ? "" : ` (${error.code}, HTTP ${error.status})`;
    io.stderr(`error: ${error.message}${detail}\n`);
    return exitCodes.failed;
  }
  if (error instanceof ConfigError) {
    io.stderr(`error: ${error.problems.join("; ")}\n`);
    return exitCodes.config;
  }
  // parseArgs reports unknown or malformed flags with ERR_PARSE_ARGS_* codes.
  const code = (error as { code?: string }).code;
  if (error instanceof UsageError || code?.startsWith("ERR_PARSE_ARGS")) {
    io.stderr(`error: ${(error as Error).message}\n${usage}`);
    return exitCodes.usage;
  }
  throw error;
}

function groupUsage(group: string, subcommands: Record<string, Subcommand>): string {
  const lines = Object.values(subcommands).map(
    (command) => `  strata ${group} ${command.usage}\n      ${command.summary}`,
  );
  return `usage:\n${lines.join("\n")}\n\n${globalHelp}\n`;
}

/** The one positional argument a subcommand takes (a name or an id). */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
  return positionals[0]!;
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(" ")}`);
}

/** `--metadata key=value` (repeatable) as an object. */
export function metadataFlag(values: FlagValues["metadata"]): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const pairs = Array.isArray(values) ? values : [String(values)];
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--metadata takes key=value, got "${pair}"`);
    metadata[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return metadata;
}

/** `{ metadata }` for a request body, or nothing when no --metadata was given. */
export function withMetadata(values: FlagValues["metadata"]): { metadata?: Record<string, string> } {
  const metadata = metadataFlag(values);
  return metadata ? { metadata } : {};
}

/** The line after a list that has more pages. */
export function moreHint(after: string | undefined): string {
  return after ? `(more: add --after ${after})\n` : "";
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90s", "15m", "12h", "30d", "2w" or plain seconds, as seconds. */
export function durationFlag(flag: string, value: string): number {
  const match = /^(\d+)([smhdw]?)$/.exec(value.trim());
  if (!match)
    throw new UsageError(`${flag} takes a duration such as 90s, 15m, 12h, 30d or 2w; got "${value}"`);
  return Number(match[1]) * unitSeconds[match[2] || "s"]!;
}

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const value = flags[name];
  return typeof value === "string" ? value : undefined;
}

/** The Idempotency-Key header from --idempotency-key, or none. */
export function idempotencyHeader(flags: FlagValues): Record<string, string> {
  const key = stringFlag(flags, "idempotency-key");
  return key ? { "idempotency-key": key } : {};
}
