import { ConfigError, createLogger, initTracing, Lifecycle, tuneHeapForServing } from "@strata/kit";
import { loadRouterConfig } from "./config-source.js";
import { run } from "./run.js";

/** EX_CONFIG from sysexits.h: the process cannot start because of its configuration. */
const exitConfigError = 78;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadRouterConfig>;
  try {
    config = loadRouterConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`router: ${error.message}\n`);
    process.exit(exitConfigError);
  }
  tuneHeapForServing();
  const tracing = initTracing({ serviceName: "router", otlpEndpoint: config.tracing.otlpEndpoint });
  const logger = createLogger({ service: "router", level: config.logLevel });
  const lifecycle = new Lifecycle(logger);
  // Registered first so it closes last: spans from the shutdown itself still get exported.
  lifecycle.add("tracing", () => tracing.shutdown());
  const router = await run(config, { logger });
  lifecycle.add("router", () => router.close());
  lifecycle.handleSignals();
}

main().catch((error: unknown) => {
  process.stderr.write(`router: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
