import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import { StrataError, toStrataError } from "../errors/strata-error.js";
import { latencyBuckets } from "../metrics/registry.js";
import { extractTraceContext, getTracer } from "../tracing/tracing.js";
import { toGrpcError } from "./grpc-errors.js";
import { addReflection } from "./reflection.js";
import { grpcServiceDefinition } from "./service-definition.js";
import { abortError, drained, untilAborted } from "./stream-control.js";
import type { CallContext, ServiceImpl } from "./types.js";

export interface GrpcServerOptions {
  logger: Logger;
  registry: Registry;
  /** Largest accepted message; protects the process from oversized requests. */
  maxReceiveMessageBytes?: number;
}

type AnyCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerDuplexStream<unknown, unknown>;

/** A grpc-js server that always serves grpc.health.v1 and reflection, with tracing, metrics and error mapping. */
export class GrpcServer {
  private readonly server: Server;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  private readonly services: DescService[] = [];
  private readonly handled: Counter<"service" | "method" | "code">;
  private readonly duration: Histogram<"service" | "method">;
  private readonly tracer = getTracer("grpc");
  /** Stops each open bidi call; called on close, since a long-lived stream would hold shutdown for the whole grace. */
  private readonly openStreams = new Set<() => void>();

  constructor(private readonly options: GrpcServerOptions) {
    this.server = new Server({
      "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 16 << 20,
    });
    this.health.addToServer(this.server);
    this.handled = new Counter({
      name: "strata_grpc_server_handled_total",
      help: "gRPC calls completed, by method and status code.",
      labelNames: ["service", "method", "code"],
      registers: [options.registry],
    });
    this.duration = new Histogram({
      name: "strata_grpc_server_handling_seconds",
      help: "Time to complete a gRPC call.",
      labelNames: ["service", "method"],
      buckets: latencyBuckets,
      registers: [options.registry],
    });
  }

  add<S extends DescService>(service: S, impl: ServiceImpl<S>): this {
    const handlers: UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const handler = (impl as Record<string, (...args: never[]) => unknown>)[method.localName];
      if (!handler) throw new Error(`${service.typeName} implementation lacks ${method.localName}`);
      if (method.methodKind === "client_streaming")
        throw new Error(`${service.typeName}.${method.name}: client-streaming methods are not supported`);
      handlers[method.localName] =
        method.methodKind === "server_streaming"
          ? this.wrapServerStreaming(method, handler as never)
          : method.methodKind === "bidi_streaming"
            ? this.wrapBidiStreaming(method, handler as never)
            : this.wrapUnary(method, handler as never);
    }
    this.server.addService(grpcServiceDefinition(service), handlers);
    this.services.push(service);
    return this;
  }

  async listen(host: string, port: number): Promise<number> {
    addReflection(this.server, this.services);
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, actual) =>
        error ? reject(error) : resolve(actual),
      ),
    );
    this.setServing(true);
    return bound;
  }

  setServing(serving: boolean): void {
    const status: ServingStatus = serving ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", status);
    for (const service of this.services) this.health.setStatus(service.typeName, status);
  }

  /** Reports NOT_SERVING, lets in-flight calls finish for the grace period, then cancels the rest. */
  async close(graceMs = 5_000): Promise<void> {
    this.setServing(false);
    for (const stop of this.openStreams) stop();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private context(call: AnyCall, abort: AbortController, headers: Metadata): CallContext {
    // Every call kind emits "cancelled"; the union of their overloads just hides the common signature.
    (call as ServerUnaryCall<unknown, unknown>).on("cancelled", () =>
      abort.abort(new Error("call cancelled by the client")),
    );
    return {
      metadata: call.metadata,
      signal: abort.signal,
      setHeader: (key, value) => headers.set(key, value),
      peer: call.getPeer(),
      deadline: deadlineMs(call.getDeadline()),
    };
  }

  private async observe<T>(method: DescMethod, call: AnyCall, run: () => Promise<T>): Promise<T> {
    const labels = { service: method.parent.typeName, method: method.name };
    const stop = this.duration.startTimer(labels);
    const parent = extractTraceContext(call.metadata.getMap() as Record<string, string>);
    return this.tracer.startActiveSpan(
      `${method.parent.typeName}/${method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "grpc", "rpc.service": labels.service, "rpc.method": labels.method },
      },
      parent,
      async (span) => {
        try {
          const result = await run();
          this.handled.inc({ ...labels, code: "OK" });
          return result;
        } catch (error) {
          const strataError = toStrataError(error);
          if (strataError.code === "internal_error")
            this.options.logger.error({ err: error, method: labels.method }, "gRPC handler failed");
          span.setStatus({ code: SpanStatusCode.ERROR, message: strataError.message });
          span.setAttribute("rpc.grpc.status_code", strataError.grpcStatus);
          this.handled.inc({ ...labels, code: strataError.code });
          throw strataError;
        } finally {
          span.end();
          stop();
        }
      },
    );
  }

  private wrapUnary(
    method: DescMethod,
    handler: (request: unknown, context: CallContext) => Promise<unknown>,
  ): handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const headers = new Metadata();
      const context = this.context(call, new AbortController(), headers);
      this.observe(method, call, () => handler(call.request, context)).then(
        (response) => callback(null, response, headers),
        (error) => callback(toGrpcError(toStrataError(error)) as never),
      );
    };
  }

  private wrapServerStreaming(
    method: DescMethod,
    handler: (request: unknown, context: CallContext) => AsyncIterable<unknown>,
  ): handleServerStreamingCall<unknown, unknown> {
    return (call) => {
      const headers = new Metadata();
      const abort = new AbortController();
      const context = this.context(call, abort, headers);
      let headersSent = false;
      this.observe(method, call, async () => {
        for await (const message of handler(call.request, context)) {
          if (abort.signal.aborted) break;
          if (!headersSent) {
            call.sendMetadata(headers);
            headersSent = true;
          }
          // Backpressure: wait for the transport to drain before producing more.
          if (!call.write(message)) await drained(call, abort.signal);
        }
      }).then(
        () => {
          if (!headersSent) call.sendMetadata(headers);
          call.end();
        },
        (error) => call.emit("error", toGrpcError(toStrataError(error))),
      );
    };
  }

  private wrapBidiStreaming(
    method: DescMethod,
    handler: (requests: AsyncIterable<unknown>, context: CallContext) => AsyncIterable<unknown>,
  ): handleBidiStreamingCall<unknown, unknown> {
    return (call) => {
      const headers = new Metadata();
      const abort = new AbortController();
      const context = this.context(call, abort, headers);
      const stop = () => abort.abort(new StrataError("unavailable", "the server is shutting down"));
      this.openStreams.add(stop);
      // The handler may stop reading early; that must not destroy the duplex and with it the replies.
      const requests = untilAborted(call.iterator({ destroyOnReturn: false }), abort.signal);
      let headersSent = false;
      this.observe(method, call, async () => {
        for await (const message of handler(requests, context)) {
          if (abort.signal.aborted) break;
          if (!headersSent) {
            call.sendMetadata(headers);
            headersSent = true;
          }
          if (!call.write(message)) await drained(call, abort.signal);
        }
        if (abort.signal.aborted) throw abortError(abort.signal);
      })
        .then(
          () => {
            if (!headersSent) call.sendMetadata(headers);
            call.end();
          },
          (error) => call.emit("error", toGrpcError(toStrataError(error))),
        )
        .finally(() => this.openStreams.delete(stop));
    };
  }
}

/** grpc-js reports "no deadline" as Infinity. */
function deadlineMs(deadline: Date | number): number | undefined {
  const ms = +deadline;
  return Number.isFinite(ms) ? ms : undefined;
}
