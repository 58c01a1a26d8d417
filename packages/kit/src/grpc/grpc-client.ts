import type { DescService } from "@bufbuild/protobuf";
import {
  Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { context, propagation, trace } from "@opentelemetry/api";
import { StrataError } from "../errors/strata-error.js";
import { injectTraceContext } from "../tracing/tracing.js";
import { fromGrpcError } from "./grpc-errors.js";
import { grpcServiceDefinition } from "./service-definition.js";
import type { BidiCall, ClientCallOptions, ServiceClient } from "./types.js";

function callMetadata(options: ClientCallOptions | undefined): Metadata {
  // Cheap path: with no span and no baggage the propagator writes nothing, and running it costs a
  // measurable share of a call. A fresh Metadata each time, because grpc-js mutates the one it gets.
  const active = context.active();
  if (
    options?.metadata === undefined &&
    trace.getSpanContext(active) === undefined &&
    propagation.getBaggage(active) === undefined
  )
    return new Metadata();
  const carrier: Record<string, string> = { ...options?.metadata };
  injectTraceContext(carrier, active);
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(carrier)) metadata.set(key, value);
  return metadata;
}

function callOptions(options: ClientCallOptions | undefined): { deadline?: Date | number } {
  return options?.deadline === undefined ? {} : { deadline: options.deadline };
}

/** Opens a typed client for a service at `host:port`; one HTTP/2 channel is shared by all its calls. */
export function createGrpcClient<S extends DescService>(service: S, address: string): ServiceClient<S> {
  const client = new Client(address, credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 30_000,
  });
  const definition = grpcServiceDefinition(service);
  const methods: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) {
    const spec = definition[method.localName]!;
    if (method.methodKind === "unary") {
      methods[method.localName] = (request: unknown, options?: ClientCallOptions) =>
        new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(
            spec.path,
            spec.requestSerialize,
            spec.responseDeserialize,
            request,
            callMetadata(options),
            callOptions(options),
            (error: ServiceError | null, response?: unknown) =>
              error ? reject(fromGrpcError(error)) : resolve(response),
          );
          options?.signal?.addEventListener("abort", () => call.cancel(), { once: true });
        });
    } else if (method.methodKind === "server_streaming") {
      methods[method.localName] = (request: unknown, options?: ClientCallOptions) =>
        streamToIterable(
          client.makeServerStreamRequest(
            spec.path,
            spec.requestSerialize,
            spec.responseDeserialize,
            request,
            callMetadata(options),
            callOptions(options),
          ),
          options?.signal,
        );
    } else if (method.methodKind === "bidi_streaming") {
      methods[method.localName] = (options?: ClientCallOptions) =>
        bidiCall(
          client.makeBidiStreamRequest(
            spec.path,
            spec.requestSerialize,
            spec.responseDeserialize,
            callMetadata(options),
            callOptions(options),
          ),
          options?.signal,
        );
    }
  }
  return methods as ServiceClient<S>;
}

async function* streamToIterable<T>(stream: ClientReadableStream<T>, signal?: AbortSignal): AsyncIterable<T> {
  const onAbort = () => stream.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of stream) yield message as T;
  } catch (error) {
    throw fromGrpcError(error as ServiceError);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Leaving the loop early (consumer stopped reading) must not leave the call open upstream.
    stream.cancel();
  }
}

function bidiCall(
  stream: ClientDuplexStream<unknown, unknown>,
  signal?: AbortSignal,
): BidiCall<never, never> {
  let failure: StrataError | undefined;
  let over = false;
  // Listening from the start matters twice over: grpc-js emits the status error even when nobody
  // iterates the responses (an unheard 'error' would crash the process), and the readable side
  // ends normally right before that error, so an iterator alone could miss it.
  stream.on("error", (error) => {
    failure ??= fromGrpcError(error as ServiceError);
    over = true;
  });
  const onAbort = () => stream.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  stream.on("status", () => {
    over = true;
    signal?.removeEventListener("abort", onAbort);
  });

  async function* responses(): AsyncGenerator<never> {
    try {
      for await (const message of stream) yield message as never;
    } catch (error) {
      throw failure ?? fromGrpcError(error as ServiceError);
    } finally {
      // A consumer that stops reading has given up on the call; don't leave it open upstream.
      if (!over) stream.cancel();
    }
    if (failure) throw failure;
  }

  return {
    send(message) {
      if (over || stream.writableEnded)
        throw failure ?? new StrataError("unavailable", "the gRPC stream has already ended");
      return stream.write(message);
    },
    waitForDrain() {
      if (!stream.writableNeedDrain || over) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          stream.off("drain", done).off("status", done).off("error", done);
          resolve();
        };
        stream.on("drain", done).on("status", done).on("error", done);
      });
    },
    end: () => {
      if (!stream.writableEnded) stream.end();
    },
    cancel: () => stream.cancel(),
    responses: responses(),
  };
}
