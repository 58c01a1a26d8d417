import { runAdminCommand, type Subcommand } from "./admin-command.js";
import type { CliIo } from "./cli-output.js";
import { deadLetterCommands } from "./dead-letters.js";
import { keyCommands } from "./keys.js";
import { projectCommands } from "./projects.js";
import { tenantCommands } from "./tenants.js";
import { usageCommands } from "./usage.js";

/**
 * The admin command groups: `strata tenants|projects|keys|usage|dead-letters <subcommand>`, over the
 * gateway's admin HTTP API.
 */
export const adminGroups: Record<string, Record<string, Subcommand>> = {
  tenants: tenantCommands,
  projects: projectCommands,
  keys: keyCommands,
  usage: usageCommands,
  "dead-letters": deadLetterCommands,
};

/** Runs one admin command line (without the leading group name) and returns its exit code. */
export function runAdmin(
  group: keyof typeof adminGroups,
  argv: string[],
  io: CliIo,
  env: Record<string, string | undefined>,
): Promise<number> {
  return runAdminCommand(group, adminGroups[group]!, argv, io, env);
}

/** The same, for the `strata` process: real stdout/stderr and environment, exit code on the process. */
export function adminCommand(group: keyof typeof adminGroups): () => Promise<void> {
  return async () => {
    const io: CliIo = {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    };
    process.exitCode = await runAdmin(group, process.argv.slice(3), io, process.env);
  };
}
