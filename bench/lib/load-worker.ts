/**
 * The load generator, in its own process so it does not share the event loop (or, on a two-core
 * machine, the core) of the server under test. The parent sends one LoadRequest at a time over IPC
 * and gets a LoadSample back.
 *
 * autocannon's own latency histogram has 1 ms resolution, too coarse for sub-millisecond overhead,
 * so every 2xx response time (float ms, from process.hrtime) is kept here instead.
 */
import autocannon from "autocannon";

export interface LoadRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationS: number;
}

export interface LoadSample {
  /** Response times of 2xx answers, in ms. */
  latenciesMs: Float64Array;
  durationS: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time the server process spent meanwhile, in µs; filled in by the caller (the server). */
  serverCpuUs?: number;
}

async function measure(request: LoadRequest): Promise<LoadSample> {
  const latencies: number[] = [];
  const startedAt = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: "POST",
        headers: request.headers,
        body: request.body,
        connections: request.connections,
        pipelining: 1,
        duration: request.durationS,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  return {
    latenciesMs: Float64Array.from(latencies),
    durationS: (performance.now() - startedAt) / 1000,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

process.on("message", (message: { id: number; request: LoadRequest }) => {
  measure(message.request).then(
    (sample) => process.send?.({ id: message.id, sample }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
