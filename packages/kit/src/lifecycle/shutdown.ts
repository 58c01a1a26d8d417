import type { Logger } from "pino";

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Collects what a process must close and closes it in reverse order of registration: servers
 * registered last (they depend on clients registered first) stop accepting before their clients go.
 */
export class Lifecycle {
  private readonly closers: Closer[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close });
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    for (const closer of this.closers.reverse()) {
      try {
        await closer.close();
      } catch (error) {
        this.logger.error({ err: error, component: closer.name }, "shutdown step failed");
      }
    }
  }

  /** On SIGINT/SIGTERM: close everything, then exit; a second signal or the deadline exits at once. */
  handleSignals(options: { timeoutMs?: number; exit?: (code: number) => void } = {}): void {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.closing) {
        exit(1);
        return;
      }
      this.logger.info({ signal }, "shutting down");
      const timer = setTimeout(() => {
        this.logger.error("shutdown deadline passed, exiting");
        exit(1);
      }, options.timeoutMs ?? 15_000);
      timer.unref();
      void this.close().then(() => exit(0));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
}
