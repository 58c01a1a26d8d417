import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";

type MethodsOf<S extends DescService> = S extends { method: infer M } ? M : never;

/** Per-call context a handler sees: who called, the deadline, and a signal that fires on cancellation. */
export interface CallContext {
  metadata: Metadata;
  signal: AbortSignal;
  /** Sets a response header (sent with the first message, or with the status of a unary call). */
  setHeader(key: string, value: string): void;
  peer: string;
}

type HandlerFor<M> = M extends {
  methodKind: "unary";
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageShape<I>, context: CallContext) => Promise<MessageInitShape<O>>
  : M extends {
        methodKind: "server_streaming";
        input: infer I extends DescMessage;
        output: infer O extends DescMessage;
      }
    ? (request: MessageShape<I>, context: CallContext) => AsyncIterable<MessageInitShape<O>>
    : never;

/** What a service implementation provides: one handler per method, typed from the generated descriptor. */
export type ServiceImpl<S extends DescService> = { [K in keyof MethodsOf<S>]: HandlerFor<MethodsOf<S>[K]> };

export interface ClientCallOptions {
  signal?: AbortSignal;
  deadline?: Date | number;
  metadata?: Record<string, string>;
}

type ClientMethodFor<M> = M extends {
  methodKind: "unary";
  input: infer I extends DescMessage;
  output: infer O extends DescMessage;
}
  ? (request: MessageInitShape<I>, options?: ClientCallOptions) => Promise<MessageShape<O>>
  : M extends {
        methodKind: "server_streaming";
        input: infer I extends DescMessage;
        output: infer O extends DescMessage;
      }
    ? (request: MessageInitShape<I>, options?: ClientCallOptions) => AsyncIterable<MessageShape<O>>
    : never;

/** A typed client: unary methods return promises, server-streaming methods async iterables. */
export type ServiceClient<S extends DescService> = {
  [K in keyof MethodsOf<S>]: ClientMethodFor<MethodsOf<S>[K]>;
} & {
  close(): void;
};
