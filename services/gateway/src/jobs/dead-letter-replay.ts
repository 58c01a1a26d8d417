import { type Bus, StrataError, toStrataError } from "@strata/kit";
import { jobDeadLetterStream } from "@strata/proto";
import { deadLetterHeaders } from "./dead-letter-mover.js";
import type { DeadLetter, DeadLetterStore } from "./dead-letter-store.js";
import type { JobStore } from "./job-store.js";

export interface DeadLetterReplayDeps {
  letters: Pick<DeadLetterStore, "get" | "list" | "markReplayed" | "unmarkReplayed">;
  bus: Pick<Bus, "getMessage" | "publish" | "deleteMessage">;
  jobs: Pick<JobStore, "get" | "requeueFailed" | "markEnqueued">;
  batches: {
    /** Throws failed_precondition when the batch has finished (its output files are final). */
    assertOpen(batchId: string): Promise<void>;
    /** Puts a batch whose start was dead-lettered back to validating. */
    reopenDeadStart(batchId: string): Promise<void>;
  };
}

/**
 * Replays a dead letter: the job it was about goes back to the queue (a failed job is reset to
 * queued), and the original work item is published again on its own subject with a fresh message id,
 * then removed from the dead-letter stream. A dead letter is replayed at most once.
 */
export class DeadLetterReplay {
  constructor(private readonly deps: DeadLetterReplayDeps) {}

  async replay(id: string): Promise<DeadLetter> {
    const { letters, bus } = this.deps;
    const letter = await letters.get(id);
    if (!letter) throw new StrataError("not_found", `No dead letter with id '${id}'.`, { param: "id" });
    if (letter.replayedAt)
      throw new StrataError("failed_precondition", `The dead letter '${id}' was already replayed.`);
    const stored = await bus.getMessage(jobDeadLetterStream.name, letter.deadSeq);
    if (!stored)
      throw new StrataError(
        "failed_precondition",
        `The dead letter '${id}' is no longer in the dead-letter stream.`,
      );
    if (!(await letters.markReplayed(id)))
      throw new StrataError("failed_precondition", `The dead letter '${id}' was already replayed.`);
    try {
      await this.reopen(letter);
      const subject = stored.headers[deadLetterHeaders.subject] ?? letter.subject;
      await bus.publish(subject, stored.data, { msgId: `replay:${id}` });
      if (letter.kind === "run" && letter.jobId) await this.deps.jobs.markEnqueued([letter.jobId]);
    } catch (error) {
      await letters.unmarkReplayed(id);
      throw error;
    }
    await bus.deleteMessage(jobDeadLetterStream.name, letter.deadSeq);
    return (await letters.get(id))!;
  }

  /**
   * Replays up to `limit` dead letters not yet replayed that match the filter (after an outage, say,
   * every usage event of a tenant), newest first. One that cannot be replayed is reported and skipped.
   */
  async replayMatching(
    filter: { kind?: string | undefined; tenantId?: string | undefined },
    limit: number,
  ): Promise<{ replayed: string[]; failed: { id: string; error: StrataError }[] }> {
    const replayed: string[] = [];
    const failed: { id: string; error: StrataError }[] = [];
    let after: string | undefined;
    for (let left = limit; left > 0; ) {
      const page = await this.deps.letters.list({
        ...filter,
        replayed: false,
        after,
        limit: Math.min(left, 100),
      });
      for (const letter of page.items) {
        try {
          await this.replay(letter.id);
          replayed.push(letter.id);
        } catch (error) {
          failed.push({ id: letter.id, error: toStrataError(error) });
        }
      }
      left -= page.items.length;
      if (!page.hasMore || page.items.length === 0) break;
      // Past the failed ones, which stay unreplayed and would be listed again.
      after = page.items.at(-1)!.id;
    }
    return { replayed, failed };
  }

  /** Makes the target runnable again, or refuses when replaying would change nothing. */
  private async reopen(letter: DeadLetter): Promise<void> {
    if (letter.kind === "batch" && letter.batchId) {
      await this.deps.batches.reopenDeadStart(letter.batchId);
      return;
    }
    // webhooks are simply sent again, usage events written again (the ledger ignores one it holds)
    if (letter.kind !== "run" || !letter.jobId) return;
    const job = await this.deps.jobs.get(letter.jobId);
    if (!job) throw new StrataError("failed_precondition", `The job '${letter.jobId}' no longer exists.`);
    if (job.batchId) await this.deps.batches.assertOpen(job.batchId);
    if (job.status === "succeeded" || job.status === "cancelled")
      throw new StrataError(
        "failed_precondition",
        `The job '${job.id}' already ${job.status}; there is nothing to replay.`,
      );
    if (job.status === "failed") await this.deps.jobs.requeueFailed(job.id);
  }
}
