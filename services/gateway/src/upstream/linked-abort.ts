/**
 * An AbortController that also aborts when a parent signal does, with the parent's reason. Unlike
 * AbortSignal.any it is unlinked explicitly (dispose), so a long-lived parent never accumulates a
 * listener per attempt. It is its own listener (handleEvent): no closure to create per attempt.
 */
export class LinkedAbort {
  private readonly controller = new AbortController();

  constructor(private readonly parent: AbortSignal) {
    if (parent.aborted) this.controller.abort(parent.reason);
    else parent.addEventListener("abort", this, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    this.controller.abort(reason);
  }

  /** The parent aborted (EventListener object form). */
  handleEvent(): void {
    this.controller.abort(this.parent.reason);
  }

  dispose(): void {
    this.parent.removeEventListener("abort", this);
  }
}
