import { LinkedAbort } from "@strata/kit";
import { Agent, request } from "undici";
import type { EndpointConfig } from "../config.js";
import { type EngineLoad, readEngineLoad } from "../engine-metrics/engine-load.js";

export interface ProbeResult {
  healthy: boolean;
  /** Why the health check failed, when it did. */
  error?: string;
  /** Undefined when /metrics could not be read; health alone decides routability. */
  load?: EngineLoad;
}

export type ProbeEngine = (endpoint: EndpointConfig, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * Probes engines over HTTP: `GET /health` decides health, `GET /metrics` supplies load. Both run at
 * once with the same timeout so one round costs one timeout at most. A dedicated connection pool keeps
 * probes from queueing behind data-path traffic of the same process.
 */
export class EngineProbe {
  private readonly agent: Agent;

  constructor(private readonly timeoutMs: number) {
    this.agent = new Agent({
      connect: { timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connections: 2,
    });
  }

  readonly probe: ProbeEngine = async (endpoint, signal) => {
    const base = endpoint.url;
    const [health, metrics] = await Promise.allSettled([
      this.get(`${base}/health`, signal),
      this.get(`${base}/metrics`, signal),
    ]);
    const load =
      metrics.status === "fulfilled" && metrics.value.status === 200
        ? readEngineLoad(metrics.value.body, endpoint.api, endpoint.model)
        : undefined;
    if (health.status === "rejected") return { healthy: false, error: describeError(health.reason), load };
    if (health.value.status < 200 || health.value.status >= 300) {
      return { healthy: false, error: `/health answered ${health.value.status}`, load };
    }
    return { healthy: true, load };
  };

  close(): Promise<void> {
    return this.agent.close();
  }

  private async get(url: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
    // Linked and unlinked per probe: the checker's signal lives as long as the router.
    const abort = new LinkedAbort(signal, { timeoutMs: this.timeoutMs });
    try {
      const response = await request(url, { dispatcher: this.agent, signal: abort.signal });
      // The body is always read (or dumped) so the connection returns to the pool.
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { status: response.statusCode, body: "" };
      }
      return { status: response.statusCode, body: await response.body.text() };
    } finally {
      abort.dispose();
    }
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
