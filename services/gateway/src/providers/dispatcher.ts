import { trace } from "@opentelemetry/api";
import { LinkedAbort, type Logger, StrataError, toStrataError } from "@strata/kit";
import { clientClosedError } from "../http/client-closed.js";
import type { ChatCompletionRequest, CompletionRequest, Operation } from "../openai/request-schemas.js";
import { noUsage } from "../pipeline/usage-counts.js";
import { isConnectFailure } from "../upstream/upstream-client.js";
import type { CircuitBreaker, CircuitPermit } from "./circuit-breaker.js";
import { type ChainEntry, formatChainEntry, type ModelChains } from "./model-chains.js";
import type { AttemptEnd, PreparedAttempt, Provider, UpstreamAnswer } from "./provider.js";
import type { ProviderMetrics } from "./provider-metrics.js";
import {
  type BackoffOptions,
  backoffDelayMs,
  circuitOpenError,
  isRetryableError,
  isRetryableStatus,
  sleep,
} from "./retry-policy.js";
import { firstEventOrFailure, statusError } from "./upstream-failures.js";

export interface DispatchRequest {
  operation: Operation;
  body: ChatCompletionRequest | CompletionRequest;
  requestId: string;
  tenantId: string;
  /** Aborts when the client goes or the deadline passes; its reason is the error to surface. */
  signal: AbortSignal;
  /** When the request's deadline passes, in the dispatcher's clock; undefined for none. */
  deadline: number | undefined;
}

/** Who answered, after how many attempts; recorded in usage, traces and x-strata-route. */
export interface ServedBy {
  provider: string;
  kind: string;
  servedModel: string;
  endpointId: string;
  /** x-strata-route: the provider's short form, plus `attempts=` and `fallback=` when they apply. */
  route: string;
  attempts: number;
  /** Position in the chain of the entry that answered; 0 = the first choice. */
  fallbackIndex: number;
  /** One line per failed attempt, e.g. `openai:gpt-4o: HTTP 429`. */
  attemptErrors: string[];
}

export interface Dispatched {
  /** The upstream's answer; a stream has already produced its first event. */
  answer: UpstreamAnswer;
  served: ServedBy;
  /** Call exactly once when the answer is over: closes the attempt for the breaker and the router. */
  end(outcome: AttemptEnd): void;
}

/** The request could not be served by any entry of its chain; carries what was tried. */
export class DispatchError extends StrataError {
  constructor(
    failure: StrataError,
    readonly attempts: number,
    readonly attemptErrors: string[],
  ) {
    super(failure.code, failure.message, {
      cause: failure.cause ?? failure,
      retryable: failure.retryable,
      ...(failure.param ? { param: failure.param } : {}),
      ...(failure.retryAfterSeconds !== undefined ? { retryAfterSeconds: failure.retryAfterSeconds } : {}),
    });
  }
}

export interface DispatcherOptions {
  providers: ReadonlyMap<string, Provider>;
  chains: Pick<ModelChains, "resolve">;
  breaker: Pick<CircuitBreaker, "acquire">;
  backoff: BackoffOptions;
  metrics: Pick<ProviderMetrics, "attempts" | "fallbacks">;
  logger: Logger;
  now?: () => number;
  random?: () => number;
}

type AttemptResult =
  | { kind: "answer"; dispatched: OpenAttempt; prepared: PreparedAttempt }
  | {
      kind: "failed";
      error: StrataError;
      /** Another attempt at the same entry may succeed. */
      retry: boolean;
      retryAfterMs?: number | undefined;
      fallbacks?: readonly string[];
      where: string;
    };

/**
 * dispatch: walks the model's fallback chain. Each entry gets up to 1 + maxRetries attempts with
 * jittered exponential backoff, only on retryable failures (connect errors, 429, 5xx, timeouts) and
 * only before the answer has begun; an open circuit or an exhausted entry moves on to the next
 * entry. Nothing outlives the request's deadline.
 */
export class Dispatcher {
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.now = options.now ?? performance.now.bind(performance);
    this.random = options.random ?? Math.random;
  }

  async dispatch(request: DispatchRequest): Promise<Dispatched> {
    const chain = this.options.chains.resolve(request.body.model);
    const errors: string[] = [];
    let attempts = 0;
    let last: StrataError | undefined;
    for (let index = 0; index < chain.length; index++) {
      const entry = chain[index]!;
      const provider = this.options.providers.get(entry.provider);
      if (!provider) throw new StrataError("internal_error", `no provider named "${entry.provider}"`);
      for (let retry = 0; ; retry++) {
        this.throwIfStopped(request, attempts, errors);
        attempts++;
        const result = await this.attempt(provider, entry, request, attempts);
        if (result.kind === "answer") {
          if (index > 0) this.options.metrics.fallbacks.inc({ provider: provider.name });
          result.dispatched.served = this.servedBy(result.prepared, attempts, index, errors);
          return result.dispatched;
        }
        last = result.error;
        errors.push(`${result.where}: ${result.error.message}`);
        trace.getActiveSpan()?.addEvent("upstream attempt failed", {
          "strata.attempt": attempts,
          "strata.chain.entry": formatChainEntry(entry),
          "error.type": result.error.code,
        });
        if (retry === 0 && result.fallbacks) insertFallbacks(chain, index, entry.provider, result.fallbacks);
        const delay = this.retryDelay(provider, retry, result, request);
        if (delay === undefined) break;
        await sleep(delay, request.signal).catch(() => this.throwIfStopped(request, attempts, errors));
      }
    }
    throw new DispatchError(
      last ?? new StrataError("unavailable", "No provider could serve the request."),
      attempts,
      errors,
    );
  }

  /** The wait before retrying the same entry, or undefined to move on to the next entry. */
  private retryDelay(
    provider: Provider,
    retry: number,
    result: Extract<AttemptResult, { kind: "failed" }>,
    request: DispatchRequest,
  ): number | undefined {
    if (!result.retry || retry >= provider.maxRetries) return undefined;
    const { backoff } = this.options;
    if (result.retryAfterMs !== undefined && result.retryAfterMs > backoff.maxRetryAfterMs) return undefined;
    const delay = backoffDelayMs(backoff, retry, this.random, result.retryAfterMs);
    // Waiting past the deadline helps nobody: the next entry (or the deadline error) comes sooner.
    if (request.deadline !== undefined && this.now() + delay >= request.deadline) return undefined;
    return delay;
  }

  private async attempt(
    provider: Provider,
    entry: ChainEntry,
    request: DispatchRequest,
    attempt: number,
  ): Promise<AttemptResult> {
    const where = formatChainEntry(entry);
    let prepared: PreparedAttempt;
    try {
      prepared = await provider.prepare({
        operation: request.operation,
        body: request.body,
        model: entry.model,
        attemptId: attempt === 1 ? request.requestId : `${request.requestId}-${attempt}`,
        requestId: request.requestId,
        tenantId: request.tenantId,
        signal: request.signal,
      });
    } catch (error) {
      this.throwIfStopped(request, attempt, []);
      const failure = toStrataError(error);
      this.options.metrics.attempts.inc({ provider: provider.name, result: "not_sent" });
      // Unknown model, no healthy replica, or a request this provider cannot express: retrying the
      // same entry cannot help (the next entry may); a router that did not answer may.
      const retry = failure.code === "unavailable" || failure.code === "timeout";
      return { kind: "failed", error: failure, retry, where };
    }
    const permit = this.options.breaker.acquire(prepared.breakerKey);
    if (!permit) {
      prepared.end({ result: "cancelled", usage: noUsage, timeToFirstTokenMs: 0, latencyMs: 0 });
      this.options.metrics.attempts.inc({ provider: provider.name, result: "circuit_open" });
      // The router may pick another replica of the same model; a hosted provider stays refused.
      const retry = prepared.kind === "engine";
      return {
        kind: "failed",
        error: circuitOpenError(prepared.address),
        retry,
        fallbacks: prepared.fallbacks,
        where: `${where} (${prepared.endpointId})`,
      };
    }
    return this.send(provider, prepared, permit, request, `${where} (${prepared.endpointId})`);
  }

  private async send(
    provider: Provider,
    prepared: PreparedAttempt,
    permit: CircuitPermit,
    request: DispatchRequest,
    where: string,
  ): Promise<AttemptResult> {
    const started = this.now();
    // Only the provider's own limit here: the request's deadline arrives through request.signal, so
    // an attempt cut short by it is the client's doing, never counted against the upstream.
    const attempt = new AttemptAbort(request.signal);
    const timeout = setTimeout(timeAttemptOut, prepared.timeoutMs, attempt);
    const ended = (result: AttemptEnd["result"]) =>
      prepared.end({ result, usage: noUsage, timeToFirstTokenMs: 0, latencyMs: this.now() - started });
    const count = (result: string) => this.options.metrics.attempts.inc({ provider: provider.name, result });
    try {
      let answer = await prepared.send(attempt.signal);
      if (answer.kind === "json" && answer.status >= 400 && isRetryableStatus(answer.status)) {
        attempt.dispose();
        permit.failure();
        ended("upstream-error");
        count("retryable_status");
        const error = statusError(prepared, answer.status, answer.body, answer.retryAfterMs);
        return {
          kind: "failed",
          error,
          retry: true,
          retryAfterMs: answer.retryAfterMs,
          fallbacks: prepared.fallbacks,
          where,
        };
      }
      if (answer.kind === "json" && prepared.kind !== "engine" && providerSideStatus(answer.status)) {
        // The gateway's credentials or the chain's model name are wrong: the client's request is
        // fine, so it goes to the next entry rather than back to the client as its own mistake.
        attempt.dispose();
        if (answer.status === 404) permit.success();
        else permit.failure();
        ended("upstream-error");
        count("rejected");
        const error = statusError(prepared, answer.status, answer.body, undefined);
        return { kind: "failed", error, retry: false, where };
      }
      if (answer.kind === "stream") answer = await firstEventOrFailure(answer, prepared.address);
      clearTimeout(timeout);
      count(answer.kind === "json" && answer.status >= 400 ? "client_error" : "success");
      return { kind: "answer", prepared, dispatched: new OpenAttempt(answer, attempt, permit, prepared) };
    } catch (error) {
      clearTimeout(timeout);
      attempt.dispose();
      if (request.signal.aborted) {
        permit.release();
        ended("cancelled");
        count("cancelled");
        throw stopReason(request.signal);
      }
      const { timedOut } = attempt;
      const failure = timedOut
        ? new StrataError(
            "timeout",
            `${prepared.address} did not start answering within ${prepared.timeoutMs} ms.`,
          )
        : toStrataError(error);
      const connect = !timedOut && isConnectFailure(failure);
      permit.failure();
      ended(timedOut ? "timeout" : connect ? "connect-error" : "upstream-error");
      count(timedOut ? "timeout" : connect ? "connect_error" : "upstream_error");
      return {
        kind: "failed",
        error: failure,
        retry: isRetryableError(failure),
        fallbacks: prepared.fallbacks,
        where,
      };
    }
  }

  private servedBy(prepared: PreparedAttempt, attempts: number, index: number, errors: string[]): ServedBy {
    let route = prepared.route;
    if (attempts > 1) route += `; attempts=${attempts}`;
    if (index > 0) route += `; fallback=${index}`;
    return {
      provider: prepared.provider,
      kind: prepared.kind,
      servedModel: prepared.servedModel,
      endpointId: prepared.endpointId,
      route,
      attempts,
      fallbackIndex: index,
      attemptErrors: errors,
    };
  }

  private throwIfStopped(request: DispatchRequest, attempts: number, errors: string[]): void {
    if (request.signal.aborted) throw new DispatchError(stopReason(request.signal), attempts, errors);
  }
}

/** The attempt's own abort: its provider's time limit, or the request's signal. */
class AttemptAbort extends LinkedAbort {
  timedOut = false;
}

function timeAttemptOut(attempt: AttemptAbort): void {
  attempt.timedOut = true;
  attempt.abort();
}

/** An answer that has begun; end() closes the attempt exactly once (breaker, router report). */
class OpenAttempt implements Dispatched {
  served!: ServedBy;
  private open = true;

  constructor(
    readonly answer: UpstreamAnswer,
    private readonly attempt: LinkedAbort,
    private readonly permit: CircuitPermit,
    private readonly prepared: PreparedAttempt,
  ) {}

  end(outcome: AttemptEnd): void {
    if (!this.open) return;
    this.open = false;
    this.attempt.dispose();
    if (outcome.result === "success") this.permit.success();
    else if (outcome.result === "cancelled") this.permit.release();
    else this.permit.failure();
    this.prepared.end(outcome);
  }
}

/** Statuses from a hosted provider that say the gateway's configuration is wrong, not the request. */
function providerSideStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 404;
}

/** The error a stopped request surfaces: the deadline's timeout, else the client having gone. */
function stopReason(signal: AbortSignal): StrataError {
  return signal.reason instanceof StrataError ? signal.reason : clientClosedError();
}

/** The router's fallbacks for an engine entry go right after it, once, in order. */
function insertFallbacks(chain: ChainEntry[], index: number, provider: string, fallbacks: readonly string[]) {
  const known = new Set(chain.map(formatChainEntry));
  const added = fallbacks
    .map((model) => ({ provider, model }))
    .filter((entry) => !known.has(formatChainEntry(entry)));
  chain.splice(index + 1, 0, ...added);
}
