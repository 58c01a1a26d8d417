/**
 * The router's configuration for one run, and what this checkout's router accepts. Features still
 * landing (the precise strategy fed by KV events, NATS state sync between router replicas) are
 * detected by asking the router's own schema whether it accepts their settings, so the benchmark runs
 * them as soon as the router does and otherwise reports them as skipped with the reason.
 */
import { routerConfigSchema } from "@strata/router";
import type { FleetEndpoint } from "./engine-fleet.js";

export interface RouterRunConfig {
  strategy: string;
  model: string;
  endpoints: FleetEndpoint[];
  kvCapacityTokens: number;
  scrapeIntervalMs: number;
  /** Set for replicas that share state over NATS, with the group they share it in. */
  sync?: { natsUrl: string; group: string };
}

export function routerConfig(run: RouterRunConfig): Record<string, unknown> {
  return {
    endpoints: run.endpoints.map((endpoint) => ({
      id: endpoint.id,
      url: endpoint.url,
      model: run.model,
      kvCapacityTokens: run.kvCapacityTokens,
      ...(endpoint.kvEventsEndpoint ? { kvEvents: { endpoint: endpoint.kvEventsEndpoint } } : {}),
    })),
    // Health checks also scrape /metrics: this is how fresh the router's view of engine load is.
    health: { intervalMs: run.scrapeIntervalMs },
    routing: { defaultStrategy: run.strategy },
    logLevel: "warn",
    ...(run.sync ? syncSettings(run.sync.natsUrl, run.sync.group) : {}),
  };
}

/** The settings that make a router replica share its routing state with its peers over NATS. */
export function syncSettings(natsUrl: string, group: string): Record<string, unknown> {
  return { natsUrl, sync: { enabled: true, group } };
}

const probe: RouterRunConfig = {
  strategy: "round-robin",
  model: "probe",
  endpoints: [{ id: "probe-0", url: "http://127.0.0.1:1" }],
  kvCapacityTokens: 16_384,
  scrapeIntervalMs: 1000,
};

/** Why the router cannot run this configuration, or undefined when it can. */
function rejection(config: Record<string, unknown>): string | undefined {
  const parsed = routerConfigSchema.safeParse({ ...config, grpc: { port: 0 }, ops: { port: 0 } });
  if (parsed.success) return undefined;
  return parsed.error.issues
    .map((issue) => `${issue.path.map(String).join(".")}: ${issue.message}`)
    .join("; ");
}

/** Undefined when the router can be configured with `strategy`; otherwise why not. */
export function strategyUnsupported(strategy: string): string | undefined {
  const endpoints = probe.endpoints.map((endpoint) =>
    needsKvEvents(strategy) ? { ...endpoint, kvEventsEndpoint: "tcp://127.0.0.1:2" } : endpoint,
  );
  const problem = rejection(routerConfig({ ...probe, strategy, endpoints }));
  return problem && `the router's configuration does not accept it yet: ${problem}`;
}

/** Strategies whose index is fed by the engines' KV events rather than by the router's own decisions. */
export function needsKvEvents(strategy: string): boolean {
  return strategy === "precise";
}

/** Undefined when the router accepts the NATS sync settings; otherwise why not. */
export function syncUnsupported(): string | undefined {
  const problem = rejection(
    routerConfig({ ...probe, sync: { natsUrl: "nats://127.0.0.1:4222", group: "probe" } }),
  );
  return problem && `the router's configuration has no NATS state sync yet: ${problem}`;
}
