interface TreeNode {
  /** Characters on the edge from the parent (empty for the root). */
  edge: string;
  parent: TreeNode | undefined;
  children: Map<number, TreeNode>;
  /** Tenant (endpoint slot) → logical time of its last insert through this node. */
  tenants: Map<number, number>;
}

/**
 * SGLang's approximate radix tree (its router's character-level `Tree`): one tree shared by all
 * workers, each node knowing which workers hold the text up to it and when they last did. Insertion
 * marks the whole path, eviction removes a worker from its least recently used leaves first, so a
 * worker's nodes always form a prefix-closed subtree and the deepest node naming it on a path is its
 * longest cached prefix. Time is a counter, not the wall clock, so behaviour is reproducible.
 */
export class RadixTree {
  private readonly root: TreeNode = newNode("", undefined);
  private readonly slotById = new Map<string, number>();
  private readonly sizes: number[] = [];
  private time = 0;

  constructor(private readonly maxCharsPerTenant: number) {}

  slotOf(tenant: string): number {
    let slot = this.slotById.get(tenant);
    if (slot === undefined) {
      slot = this.sizes.length;
      this.slotById.set(tenant, slot);
      this.sizes.push(0);
    }
    return slot;
  }

  get slotCount(): number {
    return this.sizes.length;
  }

  /** Characters held for a tenant (SGLang's tree size, used to find the most free cache). */
  sizeOf(tenant: string): number {
    return this.sizes[this.slotOf(tenant)]!;
  }

  insert(text: string, tenant: string): void {
    const slot = this.slotOf(tenant);
    const time = ++this.time;
    let node = this.root;
    node.tenants.set(slot, time);
    let position = 0;
    while (position < text.length) {
      let child = node.children.get(text.charCodeAt(position));
      if (child === undefined) {
        child = newNode(text.slice(position), node);
        node.children.set(text.charCodeAt(position), child);
        child.tenants.set(slot, time);
        this.sizes[slot]! += child.edge.length;
        break;
      }
      const common = commonLength(child.edge, text, position);
      if (common < child.edge.length) child = split(node, child, common);
      if (!child.tenants.has(slot)) this.sizes[slot]! += child.edge.length;
      child.tenants.set(slot, time);
      position += common;
      node = child;
    }
    if (this.sizes[slot]! > this.maxCharsPerTenant) this.evict(slot);
  }

  /**
   * Writes each tenant's matched prefix length in characters into `matched` (length ≥ slotCount);
   * returns the longest.
   */
  match(text: string, matched: Int32Array): number {
    matched.fill(0, 0, this.sizes.length);
    let node = this.root;
    let depth = 0;
    while (depth < text.length) {
      const child = node.children.get(text.charCodeAt(depth));
      if (child === undefined) break;
      const common = commonLength(child.edge, text, depth);
      for (const slot of child.tenants.keys()) matched[slot] = depth + common;
      depth += common;
      if (common < child.edge.length) break;
      node = child;
    }
    return depth;
  }

  removeTenant(tenant: string): void {
    const slot = this.slotById.get(tenant);
    if (slot === undefined) return;
    this.evictTo(slot, 0);
  }

  /** Evicts down to 90 % of the cap, so the scan of the tenant's leaves is paid once per many inserts. */
  private evict(slot: number): void {
    this.evictTo(slot, Math.floor(this.maxCharsPerTenant * 0.9));
  }

  private evictTo(slot: number, target: number): void {
    while (this.sizes[slot]! > target) {
      const leaves: TreeNode[] = [];
      collectLeaves(this.root, slot, leaves);
      if (leaves.length === 0) return;
      leaves.sort((a, b) => a.tenants.get(slot)! - b.tenants.get(slot)!);
      for (const leaf of leaves) {
        if (this.sizes[slot]! <= target) return;
        leaf.tenants.delete(slot);
        this.sizes[slot]! -= leaf.edge.length;
        if (leaf.tenants.size === 0 && leaf.parent) leaf.parent.children.delete(leaf.edge.charCodeAt(0));
      }
    }
  }
}

function newNode(edge: string, parent: TreeNode | undefined): TreeNode {
  return { edge, parent, children: new Map(), tenants: new Map() };
}

function commonLength(edge: string, text: string, offset: number): number {
  const limit = Math.min(edge.length, text.length - offset);
  let index = 0;
  while (index < limit && edge.charCodeAt(index) === text.charCodeAt(offset + index)) index++;
  return index;
}

/** Splits `child` after `at` characters; the new middle node inherits its tenants (sizes unchanged). */
function split(parent: TreeNode, child: TreeNode, at: number): TreeNode {
  const middle = newNode(child.edge.slice(0, at), parent);
  middle.tenants = new Map(child.tenants);
  child.edge = child.edge.slice(at);
  child.parent = middle;
  middle.children.set(child.edge.charCodeAt(0), child);
  parent.children.set(middle.edge.charCodeAt(0), middle);
  return middle;
}

/** Nodes holding the tenant none of whose children hold it: the ends of its cached prefixes. */
function collectLeaves(node: TreeNode, slot: number, out: TreeNode[]): void {
  let childHolds = false;
  for (const child of node.children.values()) {
    if (!child.tenants.has(slot)) continue;
    childHolds = true;
    collectLeaves(child, slot, out);
  }
  if (!childHolds && node.parent !== undefined && node.tenants.has(slot)) out.push(node);
}
