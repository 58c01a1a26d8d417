/**
 * TGI's Prometheus metrics (router/src/server.rs, backends/v3): unlabelled counters without a
 * `_total` suffix, the queue/batch gauges, and histograms with TGI's bucket layouts (durations:
 * 35 geometric buckets from 1.5e-4 s; input length: 100 even steps up to max_input_tokens;
 * generated / max new tokens: 100 even steps up to max_total_tokens).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { EngineSnapshot } from "../model/scheduler.js";
import type { EngineListener } from "../model/sequence.js";

export interface TgiMetrics {
  listener: EngineListener;
  /** Every generate / chat / completions request, before validation. */
  requestReceived(): void;
  requestFailed(reason: "validation" | "overloaded" | "incomplete"): void;
  /** After validation: the prompt length and the effective max_new_tokens. */
  requestValidated(inputLength: number, maxNewTokens: number): void;
}

function durationBuckets(): number[] {
  const buckets: number[] = [];
  let value = 0.0001;
  for (let index = 0; index < 35; index++) {
    value *= 1.5;
    buckets.push(value);
  }
  return buckets;
}

const evenBuckets = (max: number) => Array.from({ length: 100 }, (_, index) => (max / 100) * (index + 1));

export function registerTgiMetrics(
  registry: Registry,
  limits: { maxInputTokens: number; maxTotalTokens: number },
  snapshot: () => EngineSnapshot,
): TgiMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (state: EngineSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(snapshot()));
      },
    });
  gauge("tgi_queue_size", "Current queue size", (s) => s.waiting);
  gauge("tgi_batch_current_size", "Current batch size", (s) => s.running);
  gauge("tgi_batch_current_max_tokens", "Maximum tokens for the current batch", (s) => s.reservedTokens);

  const counter = (name: string, help: string) => {
    const metric = new Counter({ name, help, registers });
    metric.inc(0);
    return metric;
  };
  const requestCount = counter("tgi_request_count", "Total number of requests");
  const requestSuccess = counter("tgi_request_success", "Number of successful requests");
  const requestFailure = new Counter({
    name: "tgi_request_failure",
    help: "Number of failed requests",
    labelNames: ["err"],
    registers,
  });

  const duration = durationBuckets();
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, buckets, registers });
  const requestDuration = histogram("tgi_request_duration", "Request duration", duration);
  const validationDuration = histogram(
    "tgi_request_validation_duration",
    "Request validation duration",
    duration,
  );
  const queueDuration = histogram("tgi_request_queue_duration", "Request queue duration", duration);
  const inferenceDuration = histogram(
    "tgi_request_inference_duration",
    "Request inference duration",
    duration,
  );
  const timePerToken = histogram(
    "tgi_request_mean_time_per_token_duration",
    "Mean time per token per request",
    duration,
  );
  const inputLength = histogram(
    "tgi_request_input_length",
    "Input token length per request",
    evenBuckets(limits.maxInputTokens),
  );
  const generatedTokens = histogram(
    "tgi_request_generated_tokens",
    "Generated tokens per request",
    evenBuckets(limits.maxTotalTokens),
  );
  const maxNewTokens = histogram(
    "tgi_request_max_new_tokens",
    "Maximum new tokens per request",
    evenBuckets(limits.maxTotalTokens),
  );

  const seconds = (ms: number) => Math.max(0, ms) / 1000;
  return {
    requestReceived: () => requestCount.inc(),
    requestFailed: (reason) => requestFailure.inc({ err: reason }),
    requestValidated(length, newTokens) {
      validationDuration.observe(0);
      inputLength.observe(length);
      maxNewTokens.observe(newTokens);
    },
    listener: {
      onFinished(sequence, now, outcome) {
        if (outcome === "aborted") return;
        const scheduledAt = sequence.scheduledAt ?? sequence.arrivalAt;
        requestSuccess.inc();
        requestDuration.observe(seconds(now - sequence.arrivalAt));
        queueDuration.observe(seconds(scheduledAt - sequence.arrivalAt));
        inferenceDuration.observe(seconds(now - scheduledAt));
        timePerToken.observe(seconds((now - scheduledAt) / Math.max(1, sequence.generated)));
        generatedTokens.observe(sequence.generated);
      },
    },
  };
}
