import { create, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { StrataError, toStrataError } from "../errors/strata-error.js";
import { AsyncQueue } from "./async-queue.js";
import type { BidiCall, CallContext, ClientCallOptions, ServiceClient, ServiceImpl } from "./types.js";

type Handler = (input: unknown, context: CallContext) => unknown;

/**
 * A typed client that calls a service implementation in this process directly: the same messages,
 * errors and call options as the gRPC client, without encoding, HTTP/2 or a socket. The embedded
 * platform runs its services in one process, where a loopback gRPC call would spend more CPU on
 * both ends than the work it carries; the service still listens on its port for everyone else.
 *
 * Messages are handed over, not copied: neither side may change a message after the call.
 */
export function createInProcessClient<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
): ServiceClient<S> {
  const methods: Record<string, unknown> = { close: () => undefined };
  for (const method of service.methods) {
    const handler = (impl as unknown as Record<string, Handler>)[method.localName];
    if (!handler) throw new Error(`${service.typeName} implementation lacks ${method.localName}`);
    const call = handler.bind(impl);
    if (method.methodKind === "unary") {
      methods[method.localName] = async (request: unknown, options?: ClientCallOptions) => {
        const context = callContext(options);
        try {
          return create(method.output, (await call(message(method.input, request), context)) as never);
        } catch (error) {
          throw callError(error, context.signal);
        }
      };
    } else if (method.methodKind === "server_streaming") {
      methods[method.localName] = (request: unknown, options?: ClientCallOptions) =>
        outputs(method.output, () => call(message(method.input, request), callContext(options)), options);
    } else if (method.methodKind === "bidi_streaming") {
      methods[method.localName] = (options?: ClientCallOptions) => bidiCall(method, call, options);
    }
  }
  return methods as ServiceClient<S>;
}

function message(schema: DescMessage, init: unknown) {
  return create(schema, init as never);
}

const neverAborts = new AbortController().signal;

function callContext(options: ClientCallOptions | undefined): CallContext {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(options?.metadata ?? {})) metadata.set(key, value);
  return {
    metadata,
    signal: options?.signal ?? neverAborts,
    setHeader: () => undefined,
    peer: "in-process",
    deadline: options?.deadline === undefined ? undefined : +options.deadline,
  };
}

/** What the caller sees fail: the same StrataError a gRPC client would give, or its own cancellation. */
function callError(error: unknown, signal: AbortSignal): StrataError {
  if (signal.aborted && !(error instanceof StrataError))
    return new StrataError("client_closed", "the client cancelled the call", { cause: error });
  return toStrataError(error);
}

async function* outputs(
  schema: DescMessage,
  start: () => unknown,
  options: ClientCallOptions | undefined,
): AsyncGenerator<unknown> {
  const signal = options?.signal ?? neverAborts;
  try {
    for await (const output of start() as AsyncIterable<unknown>) {
      if (signal.aborted) throw new StrataError("client_closed", "the client cancelled the call");
      yield create(schema, output as never);
    }
  } catch (error) {
    throw callError(error, signal);
  }
}

function bidiCall(
  method: { input: DescMessage; output: DescMessage },
  call: Handler,
  options: ClientCallOptions | undefined,
): BidiCall<DescMessage, DescMessage> {
  const requests = new AsyncQueue<unknown>();
  const cancel = new AbortController();
  const signal = options?.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
  const context = { ...callContext(options), signal };
  let open = true;
  return {
    send(request) {
      if (!open) throw new StrataError("unavailable", "the call has ended");
      requests.push(message(method.input, request));
      return true;
    },
    waitForDrain: () => Promise.resolve(),
    end() {
      open = false;
      requests.end();
    },
    cancel() {
      open = false;
      cancel.abort();
      requests.end();
    },
    responses: outputs(method.output, () => call(requests, context), { signal }) as AsyncIterable<never>,
  };
}
