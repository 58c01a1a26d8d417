/**
 * Answers of one RouteStream in the order they are ready: most are pushed at once (synchronous
 * routing), a few arrive later (an LLM classifier deciding the model) without holding up the rest.
 * Iteration ends once the input has ended and every awaited answer has been delivered.
 */
export class AnswerQueue<T> implements AsyncIterable<T> {
  private readonly ready: T[] = [];
  private awaited = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(answer: T): void {
    this.ready.push(answer);
    this.notify();
  }

  /** Delivers an answer when the promise settles; it must not reject (map errors to answers first). */
  await(answer: Promise<T>): void {
    this.awaited++;
    void answer.then((value) => {
      this.awaited--;
      this.push(value);
    });
  }

  /** No more input: iteration ends when the awaited answers are in. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The input failed: iteration throws after the answers already ready. */
  fail(error: unknown): void {
    this.failure = { error };
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.ready.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended && this.awaited === 0) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
