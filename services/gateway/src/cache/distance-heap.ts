/**
 * A binary heap of (distance, id) pairs in parallel arrays: the priority queues of the HNSW search.
 * `max` heaps keep the farthest pair on top, min heaps the nearest.
 */
export class DistanceHeap {
  private readonly distances: number[] = [];
  private readonly ids: number[] = [];

  constructor(private readonly max: boolean) {}

  get size(): number {
    return this.ids.length;
  }

  topDistance(): number {
    return this.distances[0]!;
  }

  topId(): number {
    return this.ids[0]!;
  }

  push(distance: number, id: number): void {
    const { distances, ids } = this;
    let index = ids.length;
    distances.push(distance);
    ids.push(id);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(distance, distances[parent]!)) break;
      distances[index] = distances[parent]!;
      ids[index] = ids[parent]!;
      index = parent;
    }
    distances[index] = distance;
    ids[index] = id;
  }

  /** Removes the top pair; read it first with topDistance/topId. */
  pop(): void {
    const { distances, ids } = this;
    const lastDistance = distances.pop()!;
    const lastId = ids.pop()!;
    const size = ids.length;
    if (size === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && this.before(distances[right]!, distances[left]!) ? right : left;
      if (!this.before(distances[child]!, lastDistance)) break;
      distances[index] = distances[child]!;
      ids[index] = ids[child]!;
      index = child;
    }
    distances[index] = lastDistance;
    ids[index] = lastId;
  }

  /** The pairs nearest first; empties the heap. */
  drainAscending(): { ids: number[]; distances: number[] } {
    const pairs = this.ids.map((id, index) => ({ id, distance: this.distances[index]! }));
    pairs.sort((a, b) => a.distance - b.distance);
    this.ids.length = 0;
    this.distances.length = 0;
    return { ids: pairs.map((pair) => pair.id), distances: pairs.map((pair) => pair.distance) };
  }

  private before(a: number, b: number): boolean {
    return this.max ? a > b : a < b;
  }
}
