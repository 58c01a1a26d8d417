import { HnswGraph } from "./hnsw-graph.js";
import { answerBytes } from "./stored-answer.js";
import type { SemanticEntry, SemanticMatch, VectorIndex } from "./vector-index.js";

export interface MemoryVectorIndexOptions {
  maxEntries: number;
  maxBytes: number;
  /** Nodes per graph segment; a bucket that outgrows one starts another. */
  segmentSize?: number;
  efSearch?: number;
  /** Clock in Unix ms. */
  now?: () => number;
  /** Source of graph levels; injected for reproducible tests. */
  random?: () => number;
}

/**
 * A bucket's entries live in append-only HNSW segments. Eviction deletes entries oldest first
 * (FIFO across the whole index, for the size bounds) or when they expire; HNSW cannot unlink a
 * node cheaply, so deleted nodes stay as tombstones until their segment, once mostly dead, is
 * dropped whole — its few live entries go early, which a cache may do.
 */
interface Segment {
  graph: HnswGraph;
  entries: (SemanticEntry | undefined)[];
  bytes: number[];
  live: number;
  dropped: boolean;
}

/** A segment with fewer live entries than this share of its nodes is dropped (the next insert starts a new one). */
const DROP_BELOW_LIVE_SHARE = 0.25;

/** The in-process semantic index: for the embedded mode and gateways without pgvector. */
export class MemoryVectorIndex implements VectorIndex {
  readonly kind = "memory";
  private readonly buckets = new Map<string, Segment[]>();
  /** Insertion order, for FIFO eviction: parallel arrays consumed from `head`. */
  private fifoSegments: Segment[] = [];
  private fifoNodes: number[] = [];
  private head = 0;
  private readonly now: () => number;
  private readonly segmentSize: number;
  entries = 0;
  bytes = 0;

  constructor(private readonly options: MemoryVectorIndexOptions) {
    this.now = options.now ?? Date.now;
    this.segmentSize = options.segmentSize ?? 50_000;
  }

  async search(
    tenantId: string,
    bucket: string,
    vector: Float32Array,
    threshold: number,
  ): Promise<SemanticMatch | undefined> {
    const segments = this.buckets.get(bucketKey(tenantId, bucket));
    if (!segments) return undefined;
    const now = this.now();
    let best: SemanticMatch | undefined;
    for (const segment of [...segments]) {
      // A few neighbours, so an expired nearest one still leaves a live runner-up.
      for (const { node, similarity } of segment.graph.search(vector, 3, this.options.efSearch)) {
        if (similarity < threshold || (best && similarity <= best.similarity)) break;
        const entry = segment.entries[node]!;
        if (entry.expiresAt <= now) {
          this.remove(segment, node);
          continue;
        }
        best = { answer: entry.answer, similarity };
        break;
      }
    }
    return best;
  }

  async insert(entry: SemanticEntry): Promise<void> {
    const key = bucketKey(entry.tenantId, entry.bucket);
    let segments = this.buckets.get(key);
    if (!segments) {
      segments = [];
      this.buckets.set(key, segments);
    }
    let segment = segments.at(-1);
    if (
      !segment ||
      segment.graph.size >= this.segmentSize ||
      segment.graph.dimensions !== entry.vector.length
    ) {
      segment = {
        graph: new HnswGraph({
          dimensions: entry.vector.length,
          ...(this.options.efSearch ? { efSearch: this.options.efSearch } : {}),
          ...(this.options.random ? { random: this.options.random } : {}),
        }),
        entries: [],
        bytes: [],
        live: 0,
        dropped: false,
      };
      segments.push(segment);
    }
    const node = segment.graph.add(entry.vector);
    // The answer's bytes are freed when the entry goes; the node's (vector and links) only when its
    // segment is dropped, so they are counted until then and the byte bound covers tombstones too.
    const bytes = answerBytes(entry.answer) + key.length * 2;
    segment.entries[node] = entry;
    segment.bytes[node] = bytes;
    this.bytes += segment.graph.bytesPerNode();
    segment.live++;
    this.entries++;
    this.bytes += bytes;
    this.fifoSegments.push(segment);
    this.fifoNodes.push(node);
    this.evictOverflow();
  }

  /**
   * Removes every expired entry, then rebuilds the eviction queue from the live ones so dropped
   * segments are not kept reachable by it: one pass over everything, every sweep interval.
   */
  async sweep(): Promise<void> {
    const now = this.now();
    for (const segments of [...this.buckets.values()]) {
      for (const segment of [...segments]) {
        segment.entries.forEach((entry, node) => {
          if (entry && entry.expiresAt <= now) this.remove(segment, node);
        });
      }
    }
    const segments: Segment[] = [];
    const nodes: number[] = [];
    for (let index = this.head; index < this.fifoNodes.length; index++) {
      const segment = this.fifoSegments[index]!;
      const node = this.fifoNodes[index]!;
      if (segment.dropped || !segment.entries[node]) continue;
      segments.push(segment);
      nodes.push(node);
    }
    this.fifoSegments = segments;
    this.fifoNodes = nodes;
    this.head = 0;
  }

  async close(): Promise<void> {
    this.buckets.clear();
    this.fifoSegments = [];
    this.fifoNodes = [];
    this.head = 0;
    this.entries = 0;
    this.bytes = 0;
  }

  private evictOverflow(): void {
    while (
      (this.entries > this.options.maxEntries || this.bytes > this.options.maxBytes) &&
      this.head < this.fifoNodes.length
    ) {
      const segment = this.fifoSegments[this.head]!;
      const node = this.fifoNodes[this.head]!;
      this.head++;
      this.remove(segment, node);
    }
    // Compact the queue once its consumed front is the larger part.
    if (this.head > 1024 && this.head * 2 > this.fifoNodes.length) {
      this.fifoSegments = this.fifoSegments.slice(this.head);
      this.fifoNodes = this.fifoNodes.slice(this.head);
      this.head = 0;
    }
  }

  private remove(segment: Segment, node: number): void {
    const entry = segment.entries[node];
    if (segment.dropped || !entry) return;
    segment.entries[node] = undefined;
    segment.graph.remove(node);
    segment.live--;
    this.entries--;
    this.bytes -= segment.bytes[node]!;
    const key = bucketKey(entry.tenantId, entry.bucket);
    const segments = this.buckets.get(key)!;
    if (segment.live < segment.graph.size * DROP_BELOW_LIVE_SHARE) this.drop(key, segments, segment);
  }

  private drop(key: string, segments: Segment[], segment: Segment): void {
    segment.entries.forEach((entry, node) => {
      if (!entry) return;
      this.entries--;
      this.bytes -= segment.bytes[node]!;
    });
    this.bytes -= segment.graph.size * segment.graph.bytesPerNode();
    segment.dropped = true;
    segment.entries = [];
    segments.splice(segments.indexOf(segment), 1);
    if (segments.length === 0) this.buckets.delete(key);
  }
}

function bucketKey(tenantId: string, bucket: string): string {
  return `${tenantId}\u0000${bucket}`;
}
