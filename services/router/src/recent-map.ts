/**
 * A map of at most `limit` entries that forgets the least recently set first. It holds what routing
 * keeps for a request until its Report (or a peer's), which may never come: a lost Report must not
 * pin memory. Map iterates in insertion order, so the first key is always the oldest.
 */
export class RecentMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Stores the entry as the newest, forgetting the oldest when over the limit. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** Removes the entry and returns it. */
  take(key: K): V | undefined {
    const value = this.entries.get(key);
    this.entries.delete(key);
    return value;
  }
}
