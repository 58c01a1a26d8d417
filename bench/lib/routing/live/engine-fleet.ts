/**
 * N engine-sim replicas, each in its own process (as each is its own pod in production), started cold
 * for every run so no strategy inherits another's cache.
 */
import { freePort } from "@strata/kit/testing";
import { type EngineProcess, startEngineProcess } from "../../engine-process.js";

export interface FleetEndpoint {
  id: string;
  url: string;
  /** The engine's KV-event PUB socket, when the run needs KV events (precise). */
  kvEventsEndpoint?: string;
}

export interface EngineFleet {
  endpoints: FleetEndpoint[];
  stop(): Promise<void>;
}

export async function startEngineFleet(
  replicas: number,
  flags: Record<string, string | number>,
  options: { kvEvents: boolean },
): Promise<EngineFleet> {
  const started = await Promise.allSettled(
    Array.from({ length: replicas }, async (_, index) => {
      const kvEventsEndpoint = options.kvEvents ? `tcp://127.0.0.1:${await freePort()}` : undefined;
      const kvFlags: Record<string, string> = kvEventsEndpoint
        ? { "kv-events": "true", "kv-events-endpoint": kvEventsEndpoint }
        : {};
      const engine = await startEngineProcess({ ...flags, ...kvFlags });
      return { engine, endpoint: { id: `engine-${index}`, url: engine.url, kvEventsEndpoint } };
    }),
  );
  const engines: EngineProcess[] = [];
  for (const result of started) if (result.status === "fulfilled") engines.push(result.value.engine);
  const stop = async () => {
    await Promise.all(engines.map((engine) => engine.stop()));
  };
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    endpoints: started.map(
      (result) => (result as PromiseFulfilledResult<{ endpoint: FleetEndpoint }>).value.endpoint,
    ),
    stop,
  };
}
