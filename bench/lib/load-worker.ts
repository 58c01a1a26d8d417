/**
 * The load generator, in its own process so it does not share the event loop (or, on a two-core
 * machine, the core) of the server under test. The parent sends one LoadRequest at a time over IPC
 * and gets a LoadSample back.
 *
 * Every request is unique: `[<id>]` in the body is replaced per request, so no cache anywhere on the
 * path can answer from an earlier one. Plain requests go through autocannon; its own latency
 * histogram has 1 ms resolution, too coarse for sub-millisecond overhead, so every 2xx response time
 * (float ms) is kept here instead. Streams go through undici, timing the first streamed token (the
 * first event with non-empty content) and the whole answer.
 */
import autocannon from "autocannon";
import { Client } from "undici";

export interface LoadRequest {
  url: string;
  headers: Record<string, string>;
  /** JSON body; each `[<id>]` in it becomes an id unique to the request. */
  body: string;
  connections: number;
  durationS: number;
  stream: boolean;
  /**
   * Plain requests at concurrency 1: the client idles this long after each answer before sending the
   * next, so a fast server sees the request rate (and the idle gaps) it would see behind a slower one.
   */
  pauseMs?: number;
}

export interface LoadSample {
  /** Response times of 2xx answers (the last byte), in ms. */
  latenciesMs: Float64Array;
  /** Streams only: time to the first token of each 2xx answer, in ms. */
  firstTokenMs: Float64Array;
  durationS: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time the server processes spent meanwhile, in µs; filled in by the parent. */
  serverCpuUs?: number;
}

const ID = "[<id>]";

const pause = new Int32Array(new SharedArrayBuffer(4));

async function plain(request: LoadRequest): Promise<LoadSample> {
  const latencies: number[] = [];
  const startedAt = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        method: "POST",
        headers: request.headers,
        body: request.body,
        idReplacement: true,
        connections: request.connections,
        pipelining: 1,
        duration: request.durationS,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      // Sleeps the thread (no spinning: an idle client leaves its core idle); autocannon sends the
      // connection's next request after this listener returns.
      if (request.pauseMs) Atomics.wait(pause, 0, 0, request.pauseMs);
    });
  });
  return {
    latenciesMs: Float64Array.from(latencies),
    firstTokenMs: new Float64Array(0),
    durationS: (performance.now() - startedAt) / 1000,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** A content delta with at least one character: the first token, not the role-only opening chunk. */
const firstToken = /"content":"[^"]/;

let runs = 0;

async function streamed(request: LoadRequest): Promise<LoadSample> {
  const url = new URL(request.url);
  const tag = `${process.pid}-${++runs}`;
  const latencies: number[] = [];
  const firstTokens: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const startedAt = performance.now();
  const until = startedAt + request.durationS * 1000;
  const connection = async () => {
    const client = new Client(url.origin, { pipelining: 1, keepAliveTimeout: 60_000 });
    try {
      while (performance.now() < until) {
        const body = request.body.replaceAll(ID, `${tag}-${++sent}`);
        const began = performance.now();
        let first: number | undefined;
        try {
          const answer = await client.request({
            path: url.pathname,
            method: "POST",
            headers: request.headers,
            body,
          });
          for await (const chunk of answer.body) {
            if (first === undefined && firstToken.test((chunk as Buffer).toString("utf8")))
              first = performance.now();
          }
          const ended = performance.now();
          if (answer.statusCode < 200 || answer.statusCode >= 300 || first === undefined) non2xx++;
          else {
            latencies.push(ended - began);
            firstTokens.push(first - began);
          }
        } catch {
          errors++;
        }
      }
    } finally {
      await client.close();
    }
  };
  await Promise.all(Array.from({ length: request.connections }, connection));
  return {
    latenciesMs: Float64Array.from(latencies),
    firstTokenMs: Float64Array.from(firstTokens),
    durationS: (performance.now() - startedAt) / 1000,
    non2xx,
    errors,
    timeouts: 0,
  };
}

process.on("message", (message: { id: number; request: LoadRequest }) => {
  const run = message.request.stream ? streamed : plain;
  run(message.request).then(
    (sample) => process.send?.({ id: message.id, sample }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  );
});
