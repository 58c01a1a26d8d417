/** Sleeps a loop can be woken from early: stop() wakes it so a loop waiting out a delay ends at once. */
export class WakeableSleep {
  private wakeUp: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends the current sleep now, if there is one. */
  wake(): void {
    this.wakeUp?.();
  }
}
