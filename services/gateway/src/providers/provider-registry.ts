import { readFile } from "node:fs/promises";
import { ConfigError, type Logger, type ServiceClient } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import { UpstreamClient, type UpstreamClientOptions } from "../upstream/upstream-client.js";
import { AnthropicProvider } from "./anthropic/anthropic-provider.js";
import { EngineProvider } from "./engine/engine-provider.js";
import { OpenAiProvider } from "./openai/openai-provider.js";
import type { Provider } from "./provider.js";
import type { HostedProviderConfig, ProvidersConfig } from "./providers-config.js";
import { Secret } from "./secret.js";
import { TgiProvider } from "./tgi/tgi-provider.js";

type Factory = (config: HostedProviderConfig, client: UpstreamClient, apiKey: Secret | undefined) => Provider;

/** The in-tree provider kinds; a new upstream API is one adapter and one line here. */
const factories: Record<HostedProviderConfig["kind"], Factory> = {
  openai: (config, client, apiKey) => new OpenAiProvider(config, client, apiKey),
  tgi: (config, client, apiKey) => new TgiProvider(config, client, apiKey),
  anthropic: (config, client, apiKey) => new AnthropicProvider(config, client, apiKey),
};

export interface ProviderSet {
  providers: ReadonlyMap<string, Provider>;
  close(): Promise<void>;
}

/** Builds the engine provider and every configured hosted provider, each with its own connection pool. */
export async function buildProviders(
  config: ProvidersConfig,
  engine: {
    router: Pick<ServiceClient<typeof routerV1.RouterService>, "route" | "report">;
    upstream: UpstreamClientOptions;
    logger: Logger;
  },
): Promise<ProviderSet> {
  const clients: UpstreamClient[] = [];
  const engineClient = new UpstreamClient(engine.upstream);
  clients.push(engineClient);
  const providers = new Map<string, Provider>();
  providers.set(
    "engine",
    new EngineProvider({
      router: engine.router,
      client: engineClient,
      logger: engine.logger,
      maxRetries: config.engine.maxRetries,
      scaleFromZeroWaitMs: config.engine.scaleFromZeroWaitMs,
      timeoutMs: engine.upstream.headersTimeoutMs,
    }),
  );
  for (const [index, hosted] of config.hosted.entries()) {
    const client = new UpstreamClient({
      connectTimeoutMs: hosted.connectTimeoutMs,
      headersTimeoutMs: hosted.timeoutMs,
      bodyTimeoutMs: hosted.idleTimeoutMs,
      connectionsPerEndpoint: hosted.connections,
    });
    clients.push(client);
    providers.set(hosted.name, factories[hosted.kind](hosted, client, await apiKeyOf(hosted, index)));
  }
  return {
    providers,
    close: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

async function apiKeyOf(config: HostedProviderConfig, index: number): Promise<Secret | undefined> {
  if (config.apiKey) return new Secret(config.apiKey);
  if (config.apiKeyEnv)
    throw new ConfigError([
      `providers.hosted.${index}.apiKeyEnv: ${config.apiKeyEnv} was not resolved; load the config with loadGatewayConfig`,
    ]);
  if (!config.apiKeyFile) return undefined;
  try {
    const key = (await readFile(config.apiKeyFile, "utf8")).trim();
    if (!key) throw new Error("the file is empty");
    return new Secret(key);
  } catch (error) {
    throw new ConfigError([
      `providers.hosted.${index}.apiKeyFile: cannot read ${config.apiKeyFile}: ${(error as Error).message}`,
    ]);
  }
}
