/**
 * The prompt block hashers of one router: the base one, and one per LoRA adapter for engines that key
 * an adapter's blocks apart (vLLM puts the adapter's name in every block's hash, so the same prompt
 * has other block hashes under each adapter). Adapter hashers are made on first use, remember a
 * smaller share of chunks each, and the least recently used goes when there are too many.
 */
import { PromptBlockHasher } from "./prompt-block-hasher.js";
import type { Tokenize } from "./tokenize.js";

export interface PromptHashersOptions {
  blockSize: number;
  chunkChars: number;
  /** The base hasher's chunk budget; each adapter gets an eighth of it. */
  maxChunks: number;
  /** Adapters with a hasher of their own at once. */
  maxAdapters?: number;
}

export class PromptHashers {
  private readonly adapters = new Map<string, PromptBlockHasher>();
  private readonly maxAdapters: number;

  constructor(
    readonly base: PromptBlockHasher,
    private readonly tokenize: Tokenize,
    private readonly options: PromptHashersOptions,
  ) {
    this.maxAdapters = options.maxAdapters ?? 32;
  }

  /** The hasher for a request served by `adapter` (the base one without, or when the engine ignores adapters). */
  for(adapter: string | undefined): PromptBlockHasher {
    const forAdapter = this.base.scheme.forAdapter;
    if (!adapter || !forAdapter) return this.base;
    let hasher = this.adapters.get(adapter);
    if (hasher) {
      // Re-inserting keeps the Map in use order, oldest first.
      this.adapters.delete(adapter);
    } else {
      hasher = new PromptBlockHasher(this.tokenize, {
        blockSize: this.options.blockSize,
        scheme: forAdapter(adapter),
        chunkChars: this.options.chunkChars,
        maxChunks: Math.max(1_024, Math.floor(this.options.maxChunks / 8)),
      });
      if (this.adapters.size >= this.maxAdapters)
        this.adapters.delete(this.adapters.keys().next().value as string);
    }
    this.adapters.set(adapter, hasher);
    return hasher;
  }
}
