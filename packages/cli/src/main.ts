import { adminCommand } from "./commands/admin.js";
import { up } from "./commands/up.js";

const commands: Record<string, () => Promise<void>> = {
  up,
  tenants: adminCommand("tenants"),
  projects: adminCommand("projects"),
  keys: adminCommand("keys"),
  usage: adminCommand("usage"),
  "dead-letters": adminCommand("dead-letters"),
};

const name = process.argv[2] ?? "help";
const command = commands[name];
if (!command) {
  console.error(
    [
      "usage: strata <command>",
      "",
      "commands:",
      "  up            run every service locally on embedded defaults",
      "  tenants       create, list and show tenants and their webhook secrets (gateway admin API)",
      "  projects      create and list projects",
      "  keys          create, list, update, rotate and revoke API keys",
      "  usage         spend and tokens from the usage ledger, by tenant, key, model, day, provider",
      "  dead-letters  list and replay jobs, webhooks and usage events given up on",
      "",
      "`strata <command> help` lists a command's subcommands and flags.",
    ].join("\n"),
  );
  process.exit(name === "help" || name === "--help" ? 0 : 64);
}
await command();
