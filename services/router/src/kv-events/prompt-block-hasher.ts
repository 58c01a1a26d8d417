/**
 * A prompt's KV block hashes, exactly as the engines compute them (their block hash scheme — engine-sim's
 * or vLLM's — over the same tokens, block size and seed), without tokenizing and hashing the whole
 * prompt on every decision.
 *
 * Successive turns of a conversation, and requests sharing a system prompt or document, share their
 * leading text. The prompt is cut into chunks of `chunkChars` characters; for every chunk boundary the
 * hasher remembers, keyed by a 64-bit hash of all text before the boundary, where tokenization stood
 * (resume offset, token count, the tokens of the unfinished block, the last block hash) and which
 * block hashes that chunk completed. A prompt whose first k chunks were seen before costs k map
 * lookups plus tokenizing and hashing what follows, i.e. a new turn pays only for its new text.
 *
 * Correctness does not depend on where chunks fall: the tokens remembered for a boundary are only
 * those ending at least `stableMarginChars` before it, which the tokenizer guarantees are the whole
 * text's tokens whatever follows (TokenSpans). Callers walk the hashes in order and stop as soon as
 * they need no more (the first block no engine holds), so a cold prompt costs about one chunk.
 *
 * Boundaries live in one LRU (a RecentMap, set again on every use) bounded by `maxChunks`; a
 * forgotten boundary is recomputed from the nearest earlier one still known, or from the start.
 *
 * A chunk that ends inside a long unbroken run (a word of thousands of letters, a wall of spaces)
 * yields no final token; the next chunk then starts from the same place. So that such a run costs
 * linear rather than quadratic work, a boundary without progress makes the following ones skip
 * tokenizing until the span has doubled.
 */
import { RecentMap } from "../recent-map.js";
import { type BlockHashScheme, type ChainHash, engineSimBlockHashScheme } from "./block-hash-scheme.js";
import type { Tokenize, TokenSpans } from "./tokenize.js";

export interface PromptBlockHasherOptions {
  /** Tokens per KV block; the engines' --block-size. */
  blockSize: number;
  /** Seed of engine-sim's hash chain (`--hash-seed`), used when no `scheme` is given. */
  hashSeed?: string;
  /** How the engines hash blocks; engine-sim's scheme with `hashSeed` by default. */
  scheme?: BlockHashScheme;
  /** Characters per remembered chunk (llm-d's prefix store uses 256). */
  chunkChars?: number;
  /** Chunk boundaries remembered; each costs a few hundred bytes. */
  maxChunks?: number;
}

/** Tokenization state at a point of the text, and the block hashes the chunk ending there completed. */
interface Boundary {
  /** Hash lane 2 and depth (chunks from the start), checked on lookup so a key collision is caught. */
  readonly check: number;
  readonly depth: number;
  /** Character offset up to which the text is tokenized, and tokens before it (leading ones included). */
  readonly resume: number;
  readonly tokens: number;
  /** Hash of the last full block before `resume` (the chain root when there is none). */
  readonly lastHash: ChainHash;
  /** Tokens after the last full block (fewer than blockSize). */
  readonly partial: readonly number[];
  /** Index keys of the blocks completed between the previous boundary and this one, in order. */
  readonly hashes: readonly bigint[];
  /** Chunk ends before this offset skip tokenizing (the run ending here made no progress). */
  readonly retryAt: number;
}

/** Called with each block hash in order; return false to stop the walk. */
export type BlockVisitor = (hash: bigint) => boolean;

export interface WalkResult {
  /** Usable blocks in the whole prompt; an estimate when the walk stopped early. */
  blocks: number;
  /** Whether `blocks` is exact (the walk reached the end of the prompt). */
  exact: boolean;
}

const fnvPrime = 0x01000193;
const laneTwoPrime = 0x9e3779b1;
const twoPow21 = 2 ** 21;

export class PromptBlockHasher {
  readonly blockSize: number;
  readonly scheme: BlockHashScheme;
  private readonly chunkChars: number;
  private readonly spans: TokenSpans | undefined;
  private readonly root: Boundary;
  private readonly boundaries: RecentMap<number, Boundary>;
  // Scratch buffers reused by every walk: the decision path allocates only what it must keep.
  private readonly ids: number[] = [];
  private readonly ends: number[] = [];
  private readonly blockTokens: number[] = [];
  /** Boundary lookups that hit / had to tokenize, for metrics. */
  hits = 0;
  misses = 0;

  constructor(
    private readonly tokenize: Tokenize,
    options: PromptBlockHasherOptions,
  ) {
    if (!Number.isInteger(options.blockSize) || options.blockSize <= 0) {
      throw new Error(`invalid blockSize ${options.blockSize}`);
    }
    this.blockSize = options.blockSize;
    this.scheme = options.scheme ?? engineSimBlockHashScheme(options.hashSeed ?? "0");
    this.chunkChars = options.chunkChars ?? 256;
    this.boundaries = new RecentMap(options.maxChunks ?? 32_768);
    this.spans = tokenize.spans;
    const leading = this.spans?.leading ?? [];
    const start: Boundary = {
      check: 0,
      depth: 0,
      resume: 0,
      tokens: 0,
      lastHash: this.scheme.root,
      partial: [],
      hashes: [],
      retryAt: 0,
    };
    this.root = this.advance(start, leading, leading.length, 0, 0);
  }

  /** Boundaries currently remembered. */
  get size(): number {
    return this.boundaries.size;
  }

  /**
   * Visits the prompt's usable block hashes in order (the engine recomputes the last prompt token, so
   * a block is usable only if at least one token follows it) until `visit` returns false.
   */
  walk(prompt: string, visit: BlockVisitor): WalkResult {
    if (!this.spans) return this.walkWhole(prompt, visit);
    let boundary = this.root;
    let lane1 = 0x811c9dc5;
    let lane2 = 0x2f6b3a91;
    for (let end = this.chunkChars; end <= prompt.length; end += this.chunkChars) {
      for (let index = end - this.chunkChars; index < end; index++) {
        const code = prompt.charCodeAt(index);
        lane1 = Math.imul(lane1 ^ code, fnvPrime);
        lane2 = Math.imul(lane2 ^ code, laneTwoPrime);
        lane2 ^= lane2 >>> 15;
      }
      boundary = this.next(boundary, prompt, end, lane1 >>> 0, lane2 >>> 0);
      for (const hash of boundary.hashes) {
        if (!visit(hash)) return this.estimate(prompt, boundary);
      }
    }
    return this.walkTail(prompt, boundary, visit);
  }

  /** Every usable block hash of the prompt (tests, and callers that need them all). */
  hashes(prompt: string): bigint[] {
    const hashes: bigint[] = [];
    this.walk(prompt, (hash) => {
      hashes.push(hash);
      return true;
    });
    return hashes;
  }

  /** Makes every chunk boundary of the prompt known, so its next turn walks on remembered ground. */
  remember(prompt: string): void {
    this.walk(prompt, () => true);
  }

  private next(parent: Boundary, prompt: string, end: number, lane1: number, lane2: number): Boundary {
    // 32 bits of lane 1 and 21 of lane 2 make an exact-integer key; all of lane 2 and the depth check it.
    const key = lane1 * twoPow21 + (lane2 >>> 11);
    const depth = parent.depth + 1;
    const known = this.boundaries.get(key);
    if (known !== undefined && known.check === lane2 && known.depth === depth) {
      this.hits++;
      this.boundaries.set(key, known);
      return known;
    }
    this.misses++;
    const boundary =
      end < parent.retryAt
        ? { ...parent, check: lane2, depth, hashes: [] }
        : this.tokenizeTo(parent, prompt, end, lane2, depth);
    this.boundaries.set(key, boundary);
    return boundary;
  }

  /** The boundary at `end`: the text from the parent's resume point tokenized, its final tokens hashed. */
  private tokenizeTo(parent: Boundary, prompt: string, end: number, check: number, depth: number): Boundary {
    const spans = this.spans as TokenSpans;
    this.ids.length = 0;
    this.ends.length = 0;
    spans.encode(prompt, parent.resume, end, this.ids, this.ends);
    // Only tokens ending well before the boundary are final whatever text follows it.
    const stableBefore = end - spans.stableMarginChars;
    let kept = 0;
    while (kept < this.ends.length && (this.ends[kept] as number) <= stableBefore) kept++;
    const resume = kept === 0 ? parent.resume : (this.ends[kept - 1] as number);
    const retryAt = kept === 0 ? parent.resume + 2 * (end - parent.resume) : 0;
    return this.advance(parent, this.ids, kept, resume, check, depth, retryAt);
  }

  /** The state after appending `ids[0, count)` to `from`, hashing every block they complete. */
  private advance(
    from: Boundary,
    ids: readonly number[],
    count: number,
    resume: number,
    check: number,
    depth = from.depth,
    retryAt = 0,
  ): Boundary {
    const block = this.blockTokens;
    block.length = 0;
    for (const token of from.partial) block.push(token);
    let lastHash = from.lastHash;
    const hashes: bigint[] = [];
    for (let index = 0; index < count; index++) {
      block.push(ids[index] as number);
      if (block.length === this.blockSize) {
        lastHash = this.scheme.next(lastHash, block);
        hashes.push(this.scheme.key(lastHash));
        block.length = 0;
      }
    }
    const tokens = from.tokens + count;
    return { check, depth, resume, tokens, lastHash, partial: block.slice(), hashes, retryAt };
  }

  /** The text after the last boundary: tokenized to its end, where every token is final. */
  private walkTail(prompt: string, from: Boundary, visit: BlockVisitor): WalkResult {
    const spans = this.spans as TokenSpans;
    this.ids.length = 0;
    this.ends.length = 0;
    spans.encode(prompt, from.resume, prompt.length, this.ids, this.ends);
    const total = from.tokens + this.ids.length;
    const usable = Math.floor(Math.max(0, total - 1) / this.blockSize);
    let blocks = Math.floor(from.tokens / this.blockSize);
    const block = this.blockTokens;
    block.length = 0;
    for (const token of from.partial) block.push(token);
    let lastHash = from.lastHash;
    for (let index = 0; index < this.ids.length && blocks < usable; index++) {
      block.push(this.ids[index] as number);
      if (block.length < this.blockSize) continue;
      lastHash = this.scheme.next(lastHash, block);
      block.length = 0;
      blocks++;
      if (!visit(this.scheme.key(lastHash))) break;
    }
    return { blocks: usable, exact: true };
  }

  /** Without incremental tokenization: the whole prompt, hashed lazily block by block. */
  private walkWhole(prompt: string, visit: BlockVisitor): WalkResult {
    const tokens = this.tokenize(prompt);
    const usable = Math.floor(Math.max(0, tokens.length - 1) / this.blockSize);
    let lastHash = this.root.lastHash;
    for (let block = 0; block < usable; block++) {
      lastHash = this.scheme.next(
        lastHash,
        tokens.slice(block * this.blockSize, (block + 1) * this.blockSize),
      );
      if (!visit(this.scheme.key(lastHash))) break;
    }
    return { blocks: usable, exact: true };
  }

  /** Blocks in the whole prompt, from the characters per token seen so far (4 before any). */
  private estimate(prompt: string, at: Boundary): WalkResult {
    const charsPerToken = at.tokens > 0 && at.resume > 0 ? at.resume / at.tokens : 4;
    const tokens = at.tokens + (prompt.length - at.resume) / charsPerToken;
    return { blocks: Math.max(1, Math.floor((tokens - 1) / this.blockSize)), exact: false };
  }
}
