import type { Writable } from "node:stream";
import { StrataError } from "../errors/strata-error.js";

/**
 * Ends `source` as soon as `signal` fires, even while a read is pending. A cancelled or shut-down call
 * may never deliver another message, and a handler waiting on one would otherwise hang forever.
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  // One listener for the whole call, waking whichever read is pending. (Racing every read against
  // one long-lived "aborted" promise would leave a reaction on it per message: a leak on a stream
  // that carries millions of them.)
  let wake: ((result: IteratorResult<T>) => void) | undefined;
  const stop = () => wake?.({ done: true, value: undefined });
  signal.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return;
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        wake = resolve;
        iterator.next().then(resolve, reject);
      });
      wake = undefined;
      if (next.done) return;
      yield next.value;
    }
  } catch (error) {
    // Reads fail with a premature-close error when the call is torn down; that is the end, not a fault.
    if (signal.aborted) return;
    throw error;
  } finally {
    signal.removeEventListener("abort", stop);
    void iterator.return?.()?.catch(() => undefined);
  }
}

/** Waits until the writable side has room again, or until the call is over (no drain would come). */
export function drained(stream: Writable, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    stream.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Why a call stopped early: shutdown carries its own StrataError, anything else is the client leaving. */
export function abortError(signal: AbortSignal): StrataError {
  return signal.reason instanceof StrataError
    ? signal.reason
    : new StrataError("client_closed", "the client cancelled the call");
}
