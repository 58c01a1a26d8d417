import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { BroadcastSubscription, Bus, Logger } from "@strata/kit";
import { StrataError } from "@strata/kit";
import { gatewayJobsV1, jobCancelledSubject } from "@strata/proto";

/** Why a running attempt was aborted: the job was cancelled, or this worker is shutting down. */
export type AbortReason = "cancelled" | "shutdown" | "lease-lost";

export class JobAbortError extends StrataError {
  constructor(readonly reason: AbortReason) {
    super("client_closed", `The job attempt was aborted (${reason}).`);
  }
}

/**
 * The attempts running in this replica, each with its AbortController. A cancel reaches the replica
 * running the job through a NATS broadcast (at most once); the lease renewal catches any it misses.
 */
export class JobCancellation {
  private readonly running = new Map<string, AbortController>();
  private subscription: BroadcastSubscription | undefined;

  constructor(private readonly deps: { bus: Pick<Bus, "broadcast" | "subscribe">; logger: Logger }) {}

  start(): void {
    this.subscription = this.deps.bus.subscribe(jobCancelledSubject, (_subject, data) => {
      try {
        const { jobId } = fromBinary(gatewayJobsV1.JobCancelledSchema, data);
        this.abort(jobId, "cancelled");
      } catch (error) {
        this.deps.logger.warn({ err: error }, "ignoring a malformed job-cancelled broadcast");
      }
    });
  }

  stop(): void {
    this.subscription?.stop();
  }

  /** Registers an attempt; call the returned function when it ends. */
  track(jobId: string): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    this.running.set(jobId, controller);
    return {
      signal: controller.signal,
      done: () => {
        if (this.running.get(jobId) === controller) this.running.delete(jobId);
      },
    };
  }

  abort(jobId: string, reason: AbortReason): void {
    this.running.get(jobId)?.abort(new JobAbortError(reason));
  }

  abortAll(reason: AbortReason): void {
    for (const controller of this.running.values()) controller.abort(new JobAbortError(reason));
  }

  /** Tells every replica to abort the job if it runs it (this one included). */
  announce(jobId: string): void {
    this.abort(jobId, "cancelled");
    const message = create(gatewayJobsV1.JobCancelledSchema, { jobId });
    this.deps.bus.broadcast(jobCancelledSubject, toBinary(gatewayJobsV1.JobCancelledSchema, message));
  }
}
