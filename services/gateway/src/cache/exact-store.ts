import type { StoredAnswer } from "./stored-answer.js";

/** Where the exact cache keeps answers by key: in-process (LRU bounded by bytes) or in Redis. */
export interface ExactStore {
  readonly kind: "memory" | "redis";
  /** The answer stored under `key`, or undefined (absent, expired, or the store is unreachable). */
  get(key: string): Promise<StoredAnswer | undefined>;
  set(key: string, answer: StoredAnswer, ttlMs: number): Promise<void>;
}
