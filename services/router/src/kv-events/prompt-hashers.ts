/**
 * The prompt block hashers of one router: the base one, and one per LoRA adapter for engines that key
 * an adapter's blocks apart (vLLM puts the adapter's name in every block's hash, so the same prompt
 * has other block hashes under each adapter). Adapter hashers are made on first use, remember a
 * smaller share of chunks each, and the least recently used goes when there are too many.
 */
import { RecentMap } from "../recent-map.js";
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
  /** Set again on every use, so the least recently used is forgotten first. */
  private readonly adapters: RecentMap<string, PromptBlockHasher>;

  constructor(
    readonly base: PromptBlockHasher,
    private readonly tokenize: Tokenize,
    private readonly options: PromptHashersOptions,
  ) {
    this.adapters = new RecentMap(options.maxAdapters ?? 32);
  }

  /** The hasher for a request served by `adapter` (the base one without, or when the engine ignores adapters). */
  for(adapter: string | undefined): PromptBlockHasher {
    const forAdapter = this.base.scheme.forAdapter;
    if (!adapter || !forAdapter) return this.base;
    const hasher =
      this.adapters.get(adapter) ??
      new PromptBlockHasher(this.tokenize, {
        blockSize: this.options.blockSize,
        scheme: forAdapter(adapter),
        chunkChars: this.options.chunkChars,
        maxChunks: Math.max(1_024, Math.floor(this.options.maxChunks / 8)),
      });
    this.adapters.set(adapter, hasher);
    return hasher;
  }
}
