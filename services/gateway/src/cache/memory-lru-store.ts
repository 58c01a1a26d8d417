import type { ExactStore } from "./exact-store.js";
import { answerBytes, type StoredAnswer } from "./stored-answer.js";

export interface MemoryLruStoreOptions {
  maxBytes: number;
  /** Clock in Unix ms; injected so tests can move time. */
  now?: () => number;
}

interface Entry {
  answer: StoredAnswer;
  bytes: number;
  expiresAt: number;
}

/**
 * The in-process exact cache: least recently used answers are evicted first once their bytes pass
 * `maxBytes`; expired ones are dropped when met. A Map keeps insertion order, so re-inserting an entry
 * on every hit makes its first key the least recently used.
 */
export class MemoryLruStore implements ExactStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private totalBytes = 0;

  constructor(private readonly options: MemoryLruStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<StoredAnswer | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.delete(key, entry);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  async set(key: string, answer: StoredAnswer, ttlMs: number): Promise<void> {
    const bytes = answerBytes(answer) + key.length * 2;
    if (bytes > this.options.maxBytes) return;
    const existing = this.entries.get(key);
    if (existing) this.delete(key, existing);
    this.entries.set(key, { answer, bytes, expiresAt: this.now() + ttlMs });
    this.totalBytes += bytes;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.totalBytes <= this.options.maxBytes) break;
      this.delete(oldestKey, oldest);
    }
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
