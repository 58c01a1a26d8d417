/**
 * An AbortController that also aborts when a parent signal does (with the parent's reason) and,
 * optionally, when a time limit passes (with a TimeoutError, as AbortSignal.timeout would).
 *
 * Unlike AbortSignal.any and AbortSignal.timeout it is unlinked explicitly (dispose): a long-lived
 * parent never accumulates state per child (AbortSignal.any leaves a weak reference in the parent
 * for every child, never removed), and no timer outlives the work. It is its own listener
 * (handleEvent): no closure per use.
 */
export class LinkedAbort {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly parent?: AbortSignal,
    options: { timeoutMs?: number } = {},
  ) {
    if (parent?.aborted) this.controller.abort(parent.reason);
    else parent?.addEventListener("abort", this, { once: true });
    if (options.timeoutMs !== undefined && !this.controller.signal.aborted)
      this.timer = setTimeout(timeUp, options.timeoutMs, this.controller);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    this.controller.abort(reason);
  }

  /** The parent aborted (EventListener object form). */
  handleEvent(): void {
    this.controller.abort(this.parent!.reason);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener("abort", this);
  }
}

function timeUp(controller: AbortController): void {
  controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
}
