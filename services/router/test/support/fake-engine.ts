import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeEngineLoad {
  running: number;
  waiting: number;
  kvCacheUsage: number;
}

/**
 * A minimal stand-in for a vLLM engine's operational surface (`/health`, `/metrics` in vLLM's text
 * format), used until engine-sim is available. `stop()` closes the listening socket so the router sees
 * real connection refusals, and `start()` brings it back on the same port.
 */
export class FakeEngine {
  load: FakeEngineLoad = { running: 0, waiting: 0, kvCacheUsage: 0 };
  healthStatus = 200;
  healthChecks = 0;
  private server: Server | undefined;
  private boundPort = 0;

  constructor(readonly model: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      if (request.url === "/health") {
        this.healthChecks++;
        response.writeHead(this.healthStatus).end();
      } else if (request.url === "/metrics") {
        response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.metricsText());
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.boundPort, "127.0.0.1", resolve);
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private metricsText(): string {
    const labels = `engine="0",model_name="${this.model}"`;
    return [
      "# HELP vllm:num_requests_running Number of requests in model execution batches.",
      "# TYPE vllm:num_requests_running gauge",
      `vllm:num_requests_running{${labels}} ${this.load.running.toFixed(1)}`,
      "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
      "# TYPE vllm:num_requests_waiting gauge",
      `vllm:num_requests_waiting{${labels}} ${this.load.waiting.toFixed(1)}`,
      "# TYPE vllm:kv_cache_usage_perc gauge",
      `vllm:kv_cache_usage_perc{${labels}} ${this.load.kvCacheUsage}`,
      "",
    ].join("\n");
  }
}
