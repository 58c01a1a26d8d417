import { up } from "./commands/up.js";

const commands: Record<string, () => Promise<void>> = { up };

const name = process.argv[2] ?? "help";
const command = commands[name];
if (!command) {
  console.error(
    `usage: strata <command>\n\ncommands:\n  up    run every service locally on embedded defaults`,
  );
  process.exit(name === "help" || name === "--help" ? 0 : 64);
}
await command();
