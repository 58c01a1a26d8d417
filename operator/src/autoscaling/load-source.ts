import { engines } from "../engines/engines.js";
import { engineKindOf, type ModelDeployment } from "../model-deployment/types.js";
import { sumGauges } from "./gauge-text.js";

/** The load on one ModelDeployment's engines at one moment. */
export interface LoadSample {
  /** Requests the engines hold (being generated or waiting for a slot), over the replicas that answered. */
  inFlight: number;
  /** Of those, the requests waiting for a slot. */
  waiting: number;
  /** Ready replicas that answered. */
  replicas: number;
  /** Ready replicas that could not be read; scaling down counts them as fully loaded. */
  missing: number;
  /** Why each missing replica could not be read. */
  failures: string[];
}

/** Where the autoscaler learns the load; the operator's reads the engines, tests may bring their own. */
export interface LoadSource {
  sample(md: ModelDeployment): Promise<LoadSample>;
}

export interface EngineMetricsLoadSourceOptions {
  /** A replica slower than this to answer counts as missing for this sample. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * Reads the load from each ready engine's own `/metrics` (the endpoints in the ModelDeployment's status):
 * vLLM's `vllm:num_requests_running` + `vllm:num_requests_waiting`, TGI's `tgi_batch_current_size` +
 * `tgi_queue_size`. The engines are the one place that sees every request whoever sent it, however many
 * router and gateway replicas there are, and they report the queue as well as the running batch.
 */
export class EngineMetricsLoadSource implements LoadSource {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: EngineMetricsLoadSourceOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async sample(md: ModelDeployment): Promise<LoadSample> {
    const engine = engines[engineKindOf(md)];
    const ready = (md.status?.endpoints ?? []).filter((endpoint) => endpoint.ready);
    const results = await Promise.allSettled(
      ready.map((endpoint) => this.read(endpoint.url + engine.metricsPath, engine.loadGauges)),
    );
    const sample: LoadSample = { inFlight: 0, waiting: 0, replicas: 0, missing: 0, failures: [] };
    results.forEach((result, index) => {
      if (result.status === "fulfilled") {
        sample.inFlight += result.value.running + result.value.waiting;
        sample.waiting += result.value.waiting;
        sample.replicas += 1;
      } else {
        sample.missing += 1;
        sample.failures.push(`${ready[index]!.name}: ${(result.reason as Error).message}`);
      }
    });
    return sample;
  }

  private async read(url: string, gauges: { running: string; waiting: string }) {
    const response = await this.fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs) });
    const text = await response.text();
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const sums = sumGauges(text, [gauges.running, gauges.waiting]);
    const running = sums.get(gauges.running);
    const waiting = sums.get(gauges.waiting);
    if (running === undefined || waiting === undefined) {
      throw new Error(`${url} has no ${gauges.running} and ${gauges.waiting} gauges`);
    }
    return { running, waiting };
  }
}
