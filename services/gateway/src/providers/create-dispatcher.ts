import type { Logger, Registry, ServiceClient } from "@strata/kit";
import type { routerV1 } from "@strata/proto";
import type { UpstreamClientOptions } from "../upstream/upstream-client.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { Dispatcher } from "./dispatcher.js";
import { ModelChains } from "./model-chains.js";
import { createProviderMetrics } from "./provider-metrics.js";
import { buildProviders } from "./provider-registry.js";
import type { ProvidersConfig } from "./providers-config.js";

export interface DispatchDeps {
  router: Pick<ServiceClient<typeof routerV1.RouterService>, "route" | "report">;
  /** Connection settings for self-hosted engine replicas. */
  upstream: UpstreamClientOptions;
  registry: Registry;
  logger: Logger;
}

/** The dispatch step: providers, fallback chains, retries and circuit breakers, wired together. */
export async function createDispatcher(
  config: ProvidersConfig,
  deps: DispatchDeps,
): Promise<{ dispatcher: Dispatcher; chains: ModelChains; close(): Promise<void> }> {
  const logger = deps.logger.child({ component: "dispatch" });
  const metrics = createProviderMetrics(deps.registry);
  const set = await buildProviders(config, { router: deps.router, upstream: deps.upstream, logger });
  const chains = new ModelChains(config.aliases, new Set(set.providers.keys()));
  const breaker = new CircuitBreaker(config.breaker, {
    logger,
    onStateChange: (target, _from, to) => metrics.circuitChanged(target, to),
  });
  const dispatcher = new Dispatcher({
    providers: set.providers,
    chains,
    breaker,
    backoff: config.retry,
    metrics,
    logger,
  });
  logger.info(
    {
      providers: config.hosted.map((provider) => ({
        name: provider.name,
        kind: provider.kind,
        baseUrl: provider.baseUrl,
      })),
      aliases: config.aliases,
    },
    "providers ready",
  );
  return { dispatcher, chains, close: () => set.close() };
}
