/**
 * A bounded FIFO of received messages with an async-iterator face. Beyond `highWaterMark`
 * messages the newest are dropped, as a ZeroMQ socket does at its receive high-water mark: a
 * consumer that falls behind loses messages (and, for KV events, sees a sequence gap) instead of
 * growing memory without bound.
 */
export class Inbox<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private readonly waiters: ((result: IteratorResult<T>) => void)[] = [];
  private closed = false;
  dropped = 0;

  constructor(private readonly highWaterMark: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter({ value: item, done: false });
      return;
    }
    if (this.size >= this.highWaterMark) {
      this.dropped++;
      return;
    }
    this.items.push(item);
  }

  /** The next item, or undefined once closed and drained. */
  async next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head++] as T;
      // Compact occasionally so a long-lived queue does not keep its consumed prefix alive.
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return { value, done: false };
    }
    if (this.closed) return { value: undefined, done: true };
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next(), return: async () => ({ value: undefined, done: true }) };
  }
}
