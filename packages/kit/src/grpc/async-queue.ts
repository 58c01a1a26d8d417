/**
 * Values in the order they are pushed, read once as an async iterable: the bridge between code that
 * produces messages when it likes and a reader that awaits them. Iteration ends after end() once the
 * queue is empty, or throws after the values already pushed when fail() was called.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly ready: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(value: T): void {
    this.ready.push(value);
    this.notify();
  }

  /** No more values: iteration ends once the queue is empty (and nothing holds it open). */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The producer failed: iteration throws after the values already pushed. */
  fail(error: unknown): void {
    this.failure = { error };
    this.end();
  }

  /** Subclasses keep iteration open past end() while they still expect values (see holdsOpen). */
  protected holdsOpen(): boolean {
    return false;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.ready.length > 0) {
        yield this.ready.shift() as T;
        continue;
      }
      if (this.ended && !this.holdsOpen()) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  protected notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
