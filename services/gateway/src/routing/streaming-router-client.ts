import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import {
  type BidiCall,
  type ClientCallOptions,
  type ErrorCode,
  errorCodes,
  type Logger,
  type ServiceClient,
  StrataError,
} from "@strata/kit";
import { routerV1 } from "@strata/proto";
import { clientClosedError } from "../http/client-closed.js";

type RouterClient = ServiceClient<typeof routerV1.RouterService>;
type RouteStreamCall = BidiCall<
  typeof routerV1.RouteStreamRequestSchema,
  typeof routerV1.RouteStreamResponseSchema
>;
type RouteInit = MessageInitShape<typeof routerV1.RouteRequestSchema>;
type ReportInit = MessageInitShape<typeof routerV1.ReportRequestSchema>;

export interface StreamingRouterClientOptions {
  /** Opens RouteStream, and carries every call while the stream is down, blocked, or not worth it. */
  client: Pick<RouterClient, "route" | "report" | "listModels" | "routeStream">;
  logger: Logger;
  /** How long a streamed Route may wait for its answer; the router answers in well under a millisecond. */
  timeoutMs?: number;
  /**
   * Messages queued past the transport's buffer before calls divert to unary until it drains. grpc-js
   * flushes one message per write callback with a 16-message buffer, so an ordinary burst overflows
   * it; queuing a bounded backlog keeps bursts on the stream without letting memory grow unbounded.
   */
  maxQueued?: number;
  /** Delay before re-opening a broken stream, doubling per failure without an answer in between. */
  backoff?: { initialMs?: number; maxMs?: number };
  now?: () => number;
  random?: () => number;
}

interface OpenStream {
  call: RouteStreamCall;
  pending: Map<string, PendingRoute>;
  /** Routes given up on (timeout, abort) whose answer may still come: its in-flight slot must be freed. */
  abandoned: Set<string>;
  /** Messages sent since the transport buffer filled; undefined while it has room. */
  queuedPastBuffer: number | undefined;
}

/**
 * A drop-in for the router client's route/report/listModels that sends Route and Report over one
 * long-lived RouteStream. A unary call costs an HTTP/2 stream with headers and metadata each time;
 * a message on an open stream costs a fraction of that, and the gateway makes two per request.
 * Routing never waits on the stream: whenever it is down (backing off) or full, calls go unary.
 */
export class StreamingRouterClient implements Pick<RouterClient, "route" | "report" | "listModels"> {
  private stream: OpenStream | undefined;
  private retryAt = 0;
  private failures = 0;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly maxQueued: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: StreamingRouterClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxQueued = options.maxQueued ?? 1_000;
    this.initialBackoffMs = options.backoff?.initialMs ?? 100;
    this.maxBackoffMs = options.backoff?.maxMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  route(request: RouteInit, options?: ClientCallOptions): Promise<routerV1.RouteResponse> {
    const requestId = request.requestId ?? "";
    const stream = this.usableStream();
    // No id means no way to match the answer, and a duplicate would take another call's answer: the
    // unary call gives both the router's own error or result.
    if (!stream || requestId === "" || stream.pending.has(requestId) || options?.metadata)
      return this.options.client.route(request, options);
    if (options?.signal?.aborted) return Promise.reject(clientClosedError());
    // The call ended under us and the message never left: the unary call serves it instead. Answers
    // arrive on later ticks, so registering the pending entry after sending cannot miss one.
    if (!this.send(stream, { kind: { case: "route", value: request } }))
      return this.options.client.route(request, options);
    const deadlineMs = options?.deadline === undefined ? Infinity : +options.deadline - Date.now();
    const waitMs = Math.max(0, Math.min(this.timeoutMs, deadlineMs));
    return new Promise((resolve, reject) => {
      const pending = new PendingRoute(stream, requestId, request, options, resolve, reject);
      pending.timer = setTimeout(routeTimedOut, waitMs, pending, waitMs);
      options?.signal?.addEventListener("abort", pending, { once: true });
      stream.pending.set(requestId, pending);
    });
  }

  /** Resolves as soon as the Report is queued: the pipeline never waits on bookkeeping anyway. */
  report(request: ReportInit, options?: ClientCallOptions): Promise<routerV1.ReportResponse> {
    const stream = this.usableStream();
    if (stream && !options?.metadata && this.send(stream, { kind: { case: "report", value: request } }))
      return Promise.resolve(create(routerV1.ReportResponseSchema));
    return this.options.client.report(request, options);
  }

  listModels(
    request: MessageInitShape<typeof routerV1.ListModelsRequestSchema>,
    options?: ClientCallOptions,
  ): Promise<routerV1.ListModelsResponse> {
    return this.options.client.listModels(request, options);
  }

  /** Half-closes the stream: routes already sent still get their answers. The unary client stays the owner's. */
  close(): void {
    this.closed = true;
    const stream = this.stream;
    this.stream = undefined;
    stream?.call.end();
  }

  private usableStream(): OpenStream | undefined {
    if (this.closed) return undefined;
    if (this.stream) return (this.stream.queuedPastBuffer ?? 0) >= this.maxQueued ? undefined : this.stream;
    if (this.now() < this.retryAt) return undefined;
    const stream: OpenStream = {
      // Opened from the root context: the stream outlives the request that happened to open it, and
      // its server span must not hang off that one request's trace for hours.
      call: context.with(ROOT_CONTEXT, () => this.options.client.routeStream()),
      pending: new Map(),
      abandoned: new Set(),
      queuedPastBuffer: undefined,
    };
    this.stream = stream;
    void this.read(stream);
    return stream;
  }

  private send(stream: OpenStream, message: MessageInitShape<typeof routerV1.RouteStreamRequestSchema>) {
    try {
      const hasRoom = stream.call.send(message);
      if (stream.queuedPastBuffer !== undefined) stream.queuedPastBuffer++;
      else if (!hasRoom) {
        stream.queuedPastBuffer = 0;
        void stream.call.waitForDrain().then(() => {
          stream.queuedPastBuffer = undefined;
        });
      }
      return true;
    } catch {
      // The call ended under us; read() is about to notice and clean up.
      return false;
    }
  }

  private async read(stream: OpenStream): Promise<void> {
    let failure: unknown;
    try {
      for await (const answer of stream.call.responses) {
        this.failures = 0;
        this.deliver(stream, answer);
      }
    } catch (error) {
      failure = error;
    }
    this.broken(stream, failure);
  }

  private deliver(stream: OpenStream, answer: routerV1.RouteStreamResponse): void {
    const pending = stream.pending.get(answer.requestId);
    if (pending) {
      if (answer.route) pending.resolve(answer.route);
      else pending.reject(answerError(answer.error));
    } else if (stream.abandoned.delete(answer.requestId)) {
      // The caller gave up but the router routed it: report it cancelled so its slot does not leak.
      const endpointId = answer.route?.endpoint?.id;
      if (endpointId) {
        const report = { requestId: answer.requestId, endpointId, outcome: routerV1.Outcome.CANCELLED };
        this.send(stream, { kind: { case: "report", value: { ...report, model: answer.route!.model } } });
      }
    } else if (answer.error) {
      this.options.logger.warn({ error: answer.error }, "router stream answered a message it could not read");
    }
  }

  private broken(stream: OpenStream, failure: unknown): void {
    if (this.stream === stream) this.stream = undefined;
    const cause = failure instanceof StrataError ? failure : undefined;
    const reason = cause ? cause.message : "the router ended the stream";
    if (!this.closed) {
      // Jittered, so a fleet of gateways does not reconnect in lockstep after a router restart.
      const delay = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.failures++);
      this.retryAt = this.now() + delay * (0.5 + this.random() / 2);
      this.options.logger.warn({ err: failure, retryInMs: delay }, "router stream broke; using unary calls");
    }
    // UNIMPLEMENTED: an older router without RouteStream never saw these; unary serves them safely.
    const unimplemented = (cause?.cause as { code?: number } | undefined)?.code === 12;
    if (unimplemented) this.retryAt = this.now() + this.maxBackoffMs;
    const error = new StrataError("unavailable", `the router stream broke: ${reason}`, {
      cause: failure,
      retryable: true,
    });
    for (const pending of [...stream.pending.values()]) {
      if (unimplemented)
        this.options.client.route(pending.request, pending.options).then(
          (response) => pending.resolve(response),
          (failure: StrataError) => pending.reject(failure),
        );
      else pending.reject(error);
    }
  }
}

/**
 * A streamed Route waiting for its answer. It is its own abort listener and carries its own timer
 * argument, so placing a route allocates one object rather than a handful of closures.
 */
class PendingRoute {
  timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: OpenStream,
    private readonly requestId: string,
    readonly request: RouteInit,
    readonly options: ClientCallOptions | undefined,
    private readonly onResolve: (response: routerV1.RouteResponse) => void,
    private readonly onReject: (error: StrataError) => void,
  ) {}

  resolve(response: routerV1.RouteResponse): void {
    this.settle();
    this.onResolve(response);
  }

  reject(error: StrataError): void {
    this.settle();
    this.onReject(error);
  }

  /** Stops waiting; the answer may still come, and then its in-flight slot is released (deliver). */
  giveUp(error: StrataError): void {
    this.settle();
    this.stream.abandoned.add(this.requestId);
    this.onReject(error);
  }

  /** The caller's signal fired (EventListener object form). */
  handleEvent(): void {
    this.giveUp(clientClosedError());
  }

  private settle(): void {
    this.stream.pending.delete(this.requestId);
    clearTimeout(this.timer);
    this.options?.signal?.removeEventListener("abort", this);
  }
}

function routeTimedOut(pending: PendingRoute, waitMs: number): void {
  pending.giveUp(new StrataError("timeout", `the router did not answer within ${waitMs} ms`));
}

function answerError(error: routerV1.RouteError | undefined): StrataError {
  if (!error)
    return new StrataError("internal_error", "the router answered with neither a route nor an error");
  const code = error.code in errorCodes ? (error.code as ErrorCode) : "internal_error";
  return new StrataError(code, error.message, error.param ? { param: error.param } : {});
}
