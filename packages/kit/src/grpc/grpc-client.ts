import type { DescService } from "@bufbuild/protobuf";
import { Client, type ClientReadableStream, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { injectTraceContext } from "../tracing/tracing.js";
import { fromGrpcError } from "./grpc-errors.js";
import { grpcServiceDefinition } from "./service-definition.js";
import type { ClientCallOptions, ServiceClient } from "./types.js";

function callMetadata(options: ClientCallOptions | undefined): Metadata {
  const carrier: Record<string, string> = { ...options?.metadata };
  injectTraceContext(carrier);
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
