/**
 * Follows one engine's KV events into the block index, in sequence order.
 *
 * Sequence handling (vLLM numbers batches 0, 1, 2… per publisher):
 * - seq == expected: apply.
 * - seq > expected: a gap (reconnect, or we were over the high-water mark). With a replay endpoint
 *   we ask for [expected…] (vLLM's ROUTER protocol: send ["", start], read ["", seq, payload] until
 *   seq -1), apply what comes back in order, then continue with the live message. Without one, or
 *   if the engine no longer buffers that far back, the gap is counted and we carry on: the index
 *   may keep a few blocks the engine dropped until they are reported again or cleared.
 * - seq < expected: a duplicate (replay overlap) is skipped; seq 0 means the engine restarted with
 *   an empty cache, so this endpoint's blocks are cleared first.
 * - the first batch seen has seq > 0 (the engine ran before we subscribed): with a replay endpoint
 *   we fetch its buffer from 0 to warm the index.
 * Events are applied one batch at a time from a single loop, so the index never sees them reordered.
 */
import type { Logger } from "@strata/kit";
import { DealerSocket, SubSocket } from "@strata/kit/zmq";
import type { BlockIndex } from "./block-index.js";
import type { KvEventsEndpointConfig } from "./config.js";
import { type DecodedBatch, decodeEventBatch } from "./decode.js";

export interface KvEventSubscriberDeps {
  index: Pick<BlockIndex, "add" | "remove" | "clear">;
  logger?: Pick<Logger, "warn" | "info">;
}

export interface KvEventSubscriberStats {
  batches: number;
  /** Events in the batches applied (stored, removed, cleared, and unknown ones skipped). */
  events: number;
  gaps: number;
  replayedBatches: number;
  /** Gaps replay could not close (no replay endpoint, timeout, or buffer too short). */
  unrepairedGaps: number;
  restarts: number;
  decodeErrors: number;
  /** BlockStored events whose block size is not the router's: their blocks can never match a prompt. */
  blockSizeMismatches: number;
}

export interface KvEventSubscriberOptions {
  /** The router's kvEvents.blockSize; an engine storing other blocks is a misconfiguration worth a warning. */
  blockSize?: number;
  replayTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export class KvEventSubscriber {
  readonly stats: KvEventSubscriberStats = {
    batches: 0,
    events: 0,
    gaps: 0,
    replayedBatches: 0,
    unrepairedGaps: 0,
    restarts: 0,
    decodeErrors: 0,
    blockSizeMismatches: 0,
  };
  private readonly sub: SubSocket;
  private expected: bigint | undefined;
  private closed = false;
  private readonly done: Promise<void>;

  constructor(
    readonly endpointId: string,
    private readonly config: KvEventsEndpointConfig,
    private readonly deps: KvEventSubscriberDeps,
    private readonly options: KvEventSubscriberOptions = {},
  ) {
    // vLLM's hwm is 100k batches; a router that falls that far behind has a gap to replay anyway.
    this.sub = new SubSocket(config.endpoint, { ...options, highWaterMark: 100_000 });
    this.sub.subscribe(config.topic);
    this.done = this.run();
  }

  get connected(): boolean {
    return this.sub.connected;
  }

  /** The next sequence number this subscriber expects (undefined before the first batch). */
  get nextSequence(): bigint | undefined {
    return this.expected;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sub.close();
    await this.done;
  }

  private async run(): Promise<void> {
    for await (const frames of this.sub) {
      if (this.closed) break;
      const [, seqFrame, payload] = frames;
      if (frames.length !== 3 || seqFrame?.length !== 8 || !payload) continue;
      const seq = seqFrame.readBigUInt64BE(0);
      if (this.expected === undefined && seq > 0n && this.config.replayEndpoint) {
        // Joining a running engine: its replay buffer holds the blocks it cached before we came.
        this.expected = 0n;
        await this.repair(0n, seq);
      } else if (this.expected !== undefined && seq > this.expected) {
        this.stats.gaps++;
        await this.repair(this.expected, seq);
      }
      if (this.expected !== undefined && seq < this.expected) {
        if (seq !== 0n) continue;
        this.stats.restarts++;
        this.deps.index.clear(this.endpointId);
        this.deps.logger?.info(
          { endpoint: this.endpointId },
          "kv-events publisher restarted; cleared its blocks",
        );
      }
      this.apply(seq, payload);
    }
  }

  /** Replays [from, until) from the engine's buffer, if it has a replay socket. */
  private async repair(from: bigint, until: bigint): Promise<void> {
    const replayEndpoint = this.config.replayEndpoint;
    if (!replayEndpoint) {
      this.stats.unrepairedGaps++;
      this.deps.logger?.warn({ endpoint: this.endpointId, from, until }, "kv-events gap, no replay endpoint");
      return;
    }
    // A fresh DEALER per repair: a late answer to an abandoned request cannot leak into this one.
    const dealer = new DealerSocket(replayEndpoint, this.options);
    const start = Buffer.alloc(8);
    start.writeBigUInt64BE(from);
    dealer.send([Buffer.alloc(0), start]);
    const timeout = new Promise<"timeout">((resolve) => {
      setTimeout(() => resolve("timeout"), this.options.replayTimeoutMs ?? 2_000).unref();
    });
    try {
      for (;;) {
        const next = await Promise.race([dealer.receive(), timeout]);
        if (next === "timeout" || next.done) break;
        const [, seqFrame, payload] = next.value;
        if (seqFrame?.length !== 8) continue;
        const seq = seqFrame.readBigInt64BE(0);
        if (seq < 0n) break;
        if (seq >= until || !payload) break;
        if (seq < (this.expected as bigint)) continue;
        this.stats.replayedBatches++;
        this.apply(BigInt.asUintN(64, seq), payload);
      }
    } finally {
      dealer.close();
    }
    if (this.expected !== until) {
      this.stats.unrepairedGaps++;
      this.deps.logger?.warn(
        { endpoint: this.endpointId, from, until, reached: this.expected },
        "kv-events gap not fully replayed",
      );
      this.expected = until;
    }
  }

  private apply(seq: bigint, payload: Buffer): void {
    this.expected = seq + 1n;
    let batch: DecodedBatch;
    try {
      batch = decodeEventBatch(payload);
    } catch (error) {
      this.stats.decodeErrors++;
      this.deps.logger?.warn({ endpoint: this.endpointId, seq, error }, "undecodable kv-events batch");
      return;
    }
    this.stats.batches++;
    this.stats.events += batch.events.length;
    const { index } = this.deps;
    for (const event of batch.events) {
      if (event.type === "BlockStored") this.checkBlockSize(event.blockSize);
      // Only GPU-resident blocks save prefill; offloaded tiers (CPU, disk) are not indexed, and
      // their removals must not drop the GPU copy.
      if (event.type === "BlockStored" && isGpu(event.medium)) index.add(this.endpointId, event.blockHashes);
      else if (event.type === "BlockRemoved" && isGpu(event.medium))
        index.remove(this.endpointId, event.blockHashes);
      else if (event.type === "AllBlocksCleared") index.clear(this.endpointId);
    }
  }

  /** Says once per subscription that the engine's blocks are not the size the router hashes. */
  private checkBlockSize(blockSize: number): void {
    const expected = this.options.blockSize;
    if (expected === undefined || blockSize === expected) return;
    if (this.stats.blockSizeMismatches++ > 0) return;
    this.deps.logger?.warn(
      { endpoint: this.endpointId, engineBlockSize: blockSize, blockSize: expected },
      "engine stores KV blocks of another size than kvEvents.blockSize: no prompt will match its blocks",
    );
  }
}

function isGpu(medium: string | null): boolean {
  return medium === null || medium === "GPU";
}
