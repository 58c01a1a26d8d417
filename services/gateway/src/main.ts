import {
  ConfigError,
  connectDatabase,
  createLogger,
  createMemoryBus,
  createNatsBus,
  initTracing,
  Lifecycle,
  redactConfig,
  tuneHeapForServing,
} from "@strata/kit";
import { loadGatewayConfig } from "./config.js";
import { run } from "./index.js";

// Process entry: config → clients → service → signals.
try {
  const config = loadGatewayConfig();
  tuneHeapForServing();
  const logger = createLogger({ service: "gateway", level: config.logLevel });
  logger.info({ config: redactConfig(config) }, "starting gateway");
  if (!config.databaseUrl)
    throw new ConfigError(["DATABASE_URL (databaseUrl): required when the gateway runs on its own"]);
  const lifecycle = new Lifecycle(logger);
  const tracing = initTracing({ serviceName: "strata-gateway", otlpEndpoint: config.otlpEndpoint });
  lifecycle.add("tracing", () => tracing.shutdown());
  const db = await connectDatabase({ url: config.databaseUrl, logger });
  lifecycle.add("database", () => db.close());
  // Without NATS the usage events stay in this process, which is enough for a single replica.
  const bus = config.natsUrl
    ? await createNatsBus({ url: config.natsUrl, name: "gateway", logger })
    : createMemoryBus();
  lifecycle.add("bus", () => bus.close());
  const gateway = await run(config, { db, bus, logger });
  lifecycle.add("gateway", () => gateway.close());
  lifecycle.handleSignals();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}
