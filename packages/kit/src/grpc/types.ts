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
  /** The client's deadline (epoch ms), when it set one; work that would outlive it is wasted. */
  deadline: number | undefined;
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
    : M extends {
          methodKind: "bidi_streaming";
          input: infer I extends DescMessage;
          output: infer O extends DescMessage;
        }
      ? /**
         * Reads requests as they arrive and yields responses; the two sides are independent, so a
         * handler may answer out of order or not at all. `requests` ends when the client half-closes,
         * or when the call is cancelled or the server shuts down (then `context.signal` has fired).
         */
        (requests: AsyncIterable<MessageShape<I>>, context: CallContext) => AsyncIterable<MessageInitShape<O>>
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
    : M extends {
          methodKind: "bidi_streaming";
          input: infer I extends DescMessage;
          output: infer O extends DescMessage;
        }
      ? (options?: ClientCallOptions) => BidiCall<I, O>
      : never;

/** One open bidirectional-streaming call. */
export interface BidiCall<I extends DescMessage, O extends DescMessage> {
  /**
   * Queues a message. `false` means the transport buffer is full: the message is still sent, but the
   * caller should hold further messages until `waitForDrain()` resolves.
   */
  send(message: MessageInitShape<I>): boolean;
  /** Resolves once the send buffer has room again (at once when it has), or when the call is over. */
  waitForDrain(): Promise<void>;
  /** Half-closes: no more requests; responses keep arriving until the server ends the call. */
  end(): void;
  /** Abandons the call; `responses` then fails with client_closed. */
  cancel(): void;
  /** The server's messages; throws a StrataError when the call ends with a non-OK status. Iterate once. */
  responses: AsyncIterable<MessageShape<O>>;
}

/** A typed client: unary methods return promises, server-streaming methods async iterables, bidi methods a BidiCall. */
export type ServiceClient<S extends DescService> = {
  [K in keyof MethodsOf<S>]: ClientMethodFor<MethodsOf<S>[K]>;
} & {
  close(): void;
};
