import { DistanceHeap } from "./distance-heap.js";

export interface HnswOptions {
  dimensions: number;
  /** Links per node on the upper layers (twice as many on layer 0); 16 is the usual trade-off. */
  m?: number;
  /** Candidate list size while linking a new node: higher builds a better graph, more slowly. */
  efConstruction?: number;
  /** Candidate list size while searching: higher finds the true nearest more often, more slowly. */
  efSearch?: number;
  /** Uniform [0,1) source for node levels; injected so tests build the same graph every time. */
  random?: () => number;
}

const MAX_LEVEL = 16;

/**
 * Hierarchical navigable small world graph (Malkov & Yashunin) over unit vectors, with cosine
 * distance computed as 1 − dot product. Nodes are only ever added or marked deleted: a deleted node
 * keeps routing searches but is never returned, which is what the cache needs between drops of whole
 * segments (see MemoryVectorIndex).
 */
export class HnswGraph {
  readonly dimensions: number;
  private readonly m: number;
  private readonly m0: number;
  private readonly efConstruction: number;
  private readonly efSearch: number;
  private readonly random: () => number;
  private readonly levelFactor: number;
  private vectors: Float32Array;
  /** Layer-0 links: per node, slot 0 holds the count, then up to m0 ids. */
  private links0: Int32Array;
  /** Links on layers ≥ 1, only for the few nodes that reach them: upper[node][level - 1]. */
  private readonly upper: Int32Array[][] = [];
  private deleted: Uint8Array;
  private visited: Uint32Array;
  private visitMark = 0;
  private capacity: number;
  private entryPoint = -1;
  private topLevel = -1;
  size = 0;
  deletedCount = 0;

  constructor(options: HnswOptions) {
    this.dimensions = options.dimensions;
    this.m = options.m ?? 16;
    this.m0 = this.m * 2;
    this.efConstruction = options.efConstruction ?? 48;
    this.efSearch = options.efSearch ?? 32;
    this.random = options.random ?? Math.random;
    this.levelFactor = 1 / Math.log(this.m);
    this.capacity = 64;
    this.vectors = new Float32Array(this.capacity * this.dimensions);
    this.links0 = new Int32Array(this.capacity * (this.m0 + 1));
    this.deleted = new Uint8Array(this.capacity);
    this.visited = new Uint32Array(this.capacity);
  }

  /** Adds a unit vector; returns its node id (ids are dense, in insertion order). */
  add(vector: Float32Array): number {
    if (vector.length !== this.dimensions)
      throw new Error(`vector has ${vector.length} dimensions, the graph ${this.dimensions}`);
    if (this.size === this.capacity) this.grow();
    const node = this.size++;
    this.vectors.set(vector, node * this.dimensions);
    const level = Math.min(MAX_LEVEL, Math.floor(-Math.log(1 - this.random()) * this.levelFactor));
    if (level > 0) this.upper[node] = Array.from({ length: level }, () => new Int32Array(this.m + 1));
    if (this.entryPoint < 0) {
      this.entryPoint = node;
      this.topLevel = level;
      return node;
    }
    let entry = this.entryPoint;
    for (let layer = this.topLevel; layer > level; layer--) entry = this.greedy(vector, entry, layer);
    let entries = [entry];
    for (let layer = Math.min(level, this.topLevel); layer >= 0; layer--) {
      const found = this.searchLayer(vector, entries, this.efConstruction, layer);
      const chosen = this.selectNeighbours(found.ids, found.distances, layer === 0 ? this.m0 : this.m);
      this.setLinks(node, layer, chosen);
      for (const neighbour of chosen) this.link(neighbour, node, layer);
      entries = found.ids;
    }
    if (level > this.topLevel) {
      this.topLevel = level;
      this.entryPoint = node;
    }
    return node;
  }

  remove(node: number): void {
    if (node < 0 || node >= this.size || this.deleted[node]) return;
    this.deleted[node] = 1;
    this.deletedCount++;
  }

  /** Live nodes nearest to `query`, nearest first, with their cosine similarity. */
  search(query: Float32Array, k = 1, ef = this.efSearch): { node: number; similarity: number }[] {
    if (this.entryPoint < 0 || this.deletedCount === this.size) return [];
    let entry = this.entryPoint;
    for (let layer = this.topLevel; layer > 0; layer--) entry = this.greedy(query, entry, layer);
    const found = this.searchLayer(query, [entry], Math.max(ef, k), 0);
    const results: { node: number; similarity: number }[] = [];
    for (let index = 0; index < found.ids.length && results.length < k; index++) {
      const node = found.ids[index]!;
      if (!this.deleted[node]) results.push({ node, similarity: 1 - found.distances[index]! });
    }
    return results;
  }

  /** Bytes held per node on average, for the cache's memory accounting. */
  bytesPerNode(): number {
    return this.dimensions * 4 + (this.m0 + 1) * 4 + 16;
  }

  private distance(query: Float32Array, node: number): number {
    const vectors = this.vectors;
    const dimensions = this.dimensions;
    const offset = node * dimensions;
    // Four running sums let the JIT keep them in registers and overlap the multiplications.
    let sum0 = 0;
    let sum1 = 0;
    let sum2 = 0;
    let sum3 = 0;
    let index = 0;
    for (; index + 3 < dimensions; index += 4) {
      sum0 += query[index]! * vectors[offset + index]!;
      sum1 += query[index + 1]! * vectors[offset + index + 1]!;
      sum2 += query[index + 2]! * vectors[offset + index + 2]!;
      sum3 += query[index + 3]! * vectors[offset + index + 3]!;
    }
    for (; index < dimensions; index++) sum0 += query[index]! * vectors[offset + index]!;
    return 1 - (sum0 + sum1 + sum2 + sum3);
  }

  private vectorOf(node: number): Float32Array {
    return this.vectors.subarray(node * this.dimensions, (node + 1) * this.dimensions);
  }

  private linksOf(node: number, layer: number): { list: Int32Array; offset: number } {
    if (layer === 0) return { list: this.links0, offset: node * (this.m0 + 1) };
    return { list: this.upper[node]![layer - 1]!, offset: 0 };
  }

  /** Layers above 0: walk to the nearest node, one hop at a time. */
  private greedy(query: Float32Array, start: number, layer: number): number {
    let current = start;
    let best = this.distance(query, current);
    for (let improved = true; improved; ) {
      improved = false;
      const { list, offset } = this.linksOf(current, layer);
      const count = list[offset]!;
      for (let index = 1; index <= count; index++) {
        const neighbour = list[offset + index]!;
        const distance = this.distance(query, neighbour);
        if (distance < best) {
          best = distance;
          current = neighbour;
          improved = true;
        }
      }
    }
    return current;
  }

  private searchLayer(
    query: Float32Array,
    entries: number[],
    ef: number,
    layer: number,
  ): { ids: number[]; distances: number[] } {
    const mark = this.nextVisitMark();
    const candidates = new DistanceHeap(false);
    const results = new DistanceHeap(true);
    for (const entry of entries) {
      if (this.visited[entry] === mark) continue;
      this.visited[entry] = mark;
      const distance = this.distance(query, entry);
      candidates.push(distance, entry);
      results.push(distance, entry);
      if (results.size > ef) results.pop();
    }
    while (candidates.size > 0) {
      const distance = candidates.topDistance();
      const current = candidates.topId();
      if (results.size >= ef && distance > results.topDistance()) break;
      candidates.pop();
      const { list, offset } = this.linksOf(current, layer);
      const count = list[offset]!;
      for (let index = 1; index <= count; index++) {
        const neighbour = list[offset + index]!;
        if (this.visited[neighbour] === mark) continue;
        this.visited[neighbour] = mark;
        const neighbourDistance = this.distance(query, neighbour);
        if (results.size < ef || neighbourDistance < results.topDistance()) {
          candidates.push(neighbourDistance, neighbour);
          results.push(neighbourDistance, neighbour);
          if (results.size > ef) results.pop();
        }
      }
    }
    return results.drainAscending();
  }

  /**
   * The paper's neighbour-selection heuristic: keep a candidate only if it is nearer to the node than
   * to every neighbour already kept, so links spread in all directions instead of bunching inside one
   * cluster. Dropped candidates are not topped back up. Measured on clustered text embeddings (20k
   * template questions sharing most words, reworded queries, efSearch 32): keeping the nearest links
   * found 68% of near-duplicates; this heuristic with top-up 98% at 5,000 distance computations per
   * insert; without top-up 99% at 600.
   */
  private selectNeighbours(ids: number[], distances: number[], limit: number): number[] {
    if (ids.length <= limit) return ids;
    const chosen: number[] = [];
    for (let index = 0; index < ids.length && chosen.length < limit; index++) {
      const candidate = ids[index]!;
      const vector = this.vectorOf(candidate);
      if (chosen.every((kept) => this.distance(vector, kept) >= distances[index]!)) chosen.push(candidate);
    }
    return chosen;
  }

  private setLinks(node: number, layer: number, neighbours: number[]): void {
    const { list, offset } = this.linksOf(node, layer);
    list[offset] = neighbours.length;
    for (let index = 0; index < neighbours.length; index++) list[offset + 1 + index] = neighbours[index]!;
  }

  /** Adds the back-link node → target; a full list is re-selected with the same heuristic. */
  private link(node: number, target: number, layer: number): void {
    const limit = layer === 0 ? this.m0 : this.m;
    const { list, offset } = this.linksOf(node, layer);
    const count = list[offset]!;
    if (count < limit) {
      list[offset + 1 + count] = target;
      list[offset] = count + 1;
      return;
    }
    const vector = this.vectorOf(node);
    const pairs = [target, ...list.subarray(offset + 1, offset + 1 + count)].map((id) => ({
      id,
      distance: this.distance(vector, id),
    }));
    pairs.sort((a, b) => a.distance - b.distance);
    const chosen = this.selectNeighbours(
      pairs.map((pair) => pair.id),
      pairs.map((pair) => pair.distance),
      limit,
    );
    this.setLinks(node, layer, chosen);
  }

  private nextVisitMark(): number {
    this.visitMark++;
    if (this.visitMark === 0xffffffff) {
      this.visited.fill(0);
      this.visitMark = 1;
    }
    return this.visitMark;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const vectors = new Float32Array(capacity * this.dimensions);
    vectors.set(this.vectors);
    const links0 = new Int32Array(capacity * (this.m0 + 1));
    links0.set(this.links0);
    const deleted = new Uint8Array(capacity);
    deleted.set(this.deleted);
    const visited = new Uint32Array(capacity);
    visited.set(this.visited);
    this.vectors = vectors;
    this.links0 = links0;
    this.deleted = deleted;
    this.visited = visited;
    this.capacity = capacity;
  }
}
