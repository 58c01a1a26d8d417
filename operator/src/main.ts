/** Process entry: config → run (ops server, leader election, controller) → shut down on SIGINT/SIGTERM. */
import { ConfigError, createLogger, Lifecycle } from "@strata/kit";
import { loadOperatorConfig } from "./config.js";
import { run } from "./run.js";

/** EX_CONFIG from sysexits.h: the process cannot start because of its configuration. */
const exitConfigError = 78;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadOperatorConfig>;
  try {
    config = loadOperatorConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`operator: ${error.message}\n`);
    process.exit(exitConfigError);
  }
  const logger = createLogger({ service: "operator", level: config.logLevel });
  const lifecycle = new Lifecycle(logger);
  const operator = await run(config, { logger });
  lifecycle.add("operator", () => operator.close());
  lifecycle.handleSignals();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `operator: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
