/**
 * Runs the pure EngineModel against the wall clock. Model time is milliseconds since start divided
 * by timeScale; one timer is armed for the model's next event. With timeScale 0 the model runs in
 * virtual time: the clock jumps from event to event as fast as the event loop allows.
 */
import type { EngineModel } from "../model/scheduler.js";
import type { EngineListener, Sequence, SequenceRequest } from "../model/sequence.js";

/** Per-sequence callbacks for the API layer. */
export interface SequenceSink {
  onAdmitted?(cachedTokens: number): void;
  onToken(index: number): void;
  onFinished(outcome: "completed" | "aborted"): void;
}

/** Events a virtual-time tick may process before yielding to the event loop. */
const VIRTUAL_BATCH = 512;

export class RealTimeDriver {
  private readonly sinks = new Map<string, SequenceSink>();
  private readonly startedAt = performance.now();
  private virtualNow = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private armedFor: number | undefined;
  private closed = false;

  constructor(
    private readonly model: EngineModel,
    private readonly timeScale: number,
  ) {}

  /** A listener that routes model events to the sinks; give it to the EngineModel. */
  static sinkListener(driver: () => RealTimeDriver): EngineListener {
    return {
      onAdmitted: (sequence, _now, cachedTokens) => driver().sinkOf(sequence)?.onAdmitted?.(cachedTokens),
      onToken: (sequence, index) => driver().sinkOf(sequence)?.onToken(index),
      onFinished: (sequence, _now, outcome) => {
        const sink = driver().sinkOf(sequence);
        driver().sinks.delete(sequence.request.id);
        sink?.onFinished(outcome);
      },
    };
  }

  /** Current model time in milliseconds. */
  now(): number {
    if (this.timeScale === 0) return this.virtualNow;
    return (performance.now() - this.startedAt) / this.timeScale;
  }

  submit(request: SequenceRequest, sink: SequenceSink): void {
    if (this.closed) throw new Error("engine is shut down");
    this.sinks.set(request.id, sink);
    this.model.submit(request, this.now());
    this.arm();
  }

  abort(id: string): void {
    if (this.model.abort(id, this.now())) this.arm();
  }

  get inFlight(): number {
    return this.sinks.size;
  }

  /** Aborts everything still running and stops the timers. */
  close(): void {
    for (const id of [...this.sinks.keys()]) this.model.abort(id, this.now());
    this.closed = true;
    this.disarm();
  }

  private sinkOf(sequence: Sequence): SequenceSink | undefined {
    return this.sinks.get(sequence.request.id);
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.model.nextEventTime();
    if (next === undefined) {
      this.disarm();
      return;
    }
    if (this.armedFor !== undefined && this.armedFor <= next) return;
    this.disarm();
    this.armedFor = next;
    const delayMs = (next - this.now()) * this.timeScale;
    if (delayMs < 1) {
      this.immediate = setImmediate(() => this.tick());
    } else {
      this.timer = setTimeout(() => this.tick(), delayMs);
    }
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = undefined;
    if (this.timeScale === 0) {
      let processed = 0;
      while (processed < VIRTUAL_BATCH) {
        const next = this.model.nextEventTime();
        if (next === undefined) break;
        this.virtualNow = Math.max(this.virtualNow, next);
        processed += this.model.advanceTo(this.virtualNow);
      }
    } else {
      this.model.advanceTo(this.now());
    }
    this.arm();
  }
}
