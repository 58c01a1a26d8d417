import { ConfigError, createLogger, initTracing, Lifecycle, tuneHeapForServing } from "@strata/kit";
import { loadLocalConfig } from "../local/local-config.js";
import { startLocal } from "../local/start-local.js";

/** `strata up`: run the whole platform locally and print a request that works. */
export async function up(): Promise<void> {
  let config: ReturnType<typeof loadLocalConfig>;
  try {
    config = loadLocalConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  tuneHeapForServing();
  const logger = createLogger({ service: "strata", level: config.logLevel });
  const lifecycle = new Lifecycle(logger);
  const tracing = initTracing({ serviceName: "strata-local", otlpEndpoint: config.otlpEndpoint });
  lifecycle.add("tracing", () => tracing.shutdown());
  // The gateway's and the router's settings from the environment (GATEWAY_*, ROUTER_*) are validated
  // as the platform starts; a bad one exits naming the variable, as the standalone services do.
  const platform = await startLocal(config, logger).catch(async (error: unknown) => {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    await lifecycle.close();
    process.exit(78);
  });
  lifecycle.add("platform", () => platform.close());
  lifecycle.handleSignals();
  const curl = [
    `curl -s ${platform.gatewayUrl}/v1/chat/completions`,
    `-H "Authorization: Bearer $(cat ${platform.apiKeyFile})"`,
    `-H "Content-Type: application/json"`,
    `-d '{"model":"${config.model}","messages":[{"role":"user","content":"Hello!"}]}'`,
  ].join(" \\\n  ");
  process.stdout.write(
    `\nStrata is running: gateway ${platform.gatewayUrl} (gRPC ${platform.gatewayGrpcAddress}), router ${platform.routerAddress}, ` +
      `${platform.engineUrls.length} engine-sim replicas serving "${config.model}".\nTry:\n\n  ${curl}\n\n` +
      `Admin API ${platform.gatewayUrl}/admin/v1 (admin token in ${platform.adminTokenFile}), from the \`strata\` CLI:\n\n` +
      (platform.gatewayUrl === "http://127.0.0.1:8080"
        ? ""
        : `  export STRATA_GATEWAY_URL=${platform.gatewayUrl}\n`) +
      "  pnpm strata tenants create my-team\n" +
      `  pnpm strata keys create my-app --tenant <tenant id> --models ${config.model}\n` +
      "  pnpm strata keys list\n\n",
  );
}
