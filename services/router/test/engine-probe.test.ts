import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { endpointConfigSchema } from "../src/config.js";
import { EngineProbe } from "../src/endpoints/engine-probe.js";

const metrics = `# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 3
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 1
`;

let server: Server | undefined;
let probe: EngineProbe | undefined;

afterEach(async () => {
  await probe?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = probe = undefined;
});

/** An engine whose /health hangs when `hang` is set; /metrics always answers. */
async function engine(hang: boolean): Promise<string> {
  server = createServer((request, response) => {
    if (request.url === "/metrics") response.end(metrics);
    else if (!hang) response.end("ok");
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const endpoint = (url: string) => endpointConfigSchema.parse({ id: "e", url, model: "m" });

describe("EngineProbe", () => {
  it("reads health and load in one round", async () => {
    probe = new EngineProbe(2_000);
    const result = await probe.probe(endpoint(await engine(false)), new AbortController().signal);
    expect(result).toMatchObject({ healthy: true, load: { running: 3, waiting: 1 } });
  });

  it("calls an engine that does not answer in time unhealthy, keeping the load it did read", async () => {
    probe = new EngineProbe(100);
    const result = await probe.probe(endpoint(await engine(true)), new AbortController().signal);
    expect(result.healthy).toBe(false);
    expect(result.error).toMatch(/timeout/i);
    expect(result.load).toMatchObject({ running: 3 });
  });

  it("leaves no state per probe on the checker's long-lived signal", async () => {
    probe = new EngineProbe(2_000);
    const checker = new AbortController();
    const target = endpoint(await engine(false));
    for (let i = 0; i < 20; i++) await probe.probe(target, checker.signal);
    // AbortSignal.any would leave a weak reference per probe in a set on the parent, never removed.
    const perProbeState = Object.getOwnPropertySymbols(checker.signal)
      .map((symbol) => (checker.signal as unknown as Record<symbol, unknown>)[symbol])
      .filter((value) => ((value as { size?: number } | undefined)?.size ?? 0) > 0);
    expect(perProbeState).toEqual([]);
  });
});
