/**
 * A multi-tenant character radix tree of routed prompts, the structure SGLang's cache-aware router
 * keeps (reference/routing-optimizer.md §3.4): one tree for all workers, each node (an edge label)
 * records which tenants (workers) sent text through it and when. `match` finds the longest prefix
 * any tenant has seen and the tenants at its deepest node; `size(t)` counts the characters a tenant
 * holds (what "smallest tree" compares); `evict(t, max)` drops a tenant's least recently used leaves
 * until it holds at most `max` characters.
 */

interface RadixNode {
  edge: string;
  readonly children: Map<number, RadixNode>;
  parent: RadixNode | undefined;
  /** tenant → last access (ms of model time). */
  readonly tenants: Map<number, number>;
}

export interface RadixMatch {
  /** Characters matched from the start of the text. */
  readonly matched: number;
  /** Tenants at the deepest matched node (empty when nothing matched). */
  readonly tenants: readonly number[];
}

const node = (edge: string, parent: RadixNode | undefined): RadixNode => ({ edge, children: new Map(), parent, tenants: new Map() });

function common(edge: string, text: string, at: number): number {
  const n = Math.min(edge.length, text.length - at);
  let l = 0;
  while (l < n && edge.charCodeAt(l) === text.charCodeAt(at + l)) l++;
  return l;
}

export class RadixTree {
  private readonly root = node('', undefined);
  private readonly sizes = new Map<number, number>();

  /** Characters held by a tenant. */
  size(tenant: number): number {
    return this.sizes.get(tenant) ?? 0;
  }

  match(text: string): RadixMatch {
    let cur = this.root;
    let i = 0;
    let deepest: RadixNode | undefined;
    while (i < text.length) {
      const child = cur.children.get(text.charCodeAt(i));
      if (child === undefined) break;
      const l = common(child.edge, text, i);
      i += l;
      deepest = child;
      if (l < child.edge.length) break;
      cur = child;
    }
    return { matched: i, tenants: deepest === undefined ? [] : [...deepest.tenants.keys()].sort((a, b) => a - b) };
  }

  insert(text: string, tenant: number, now: number): void {
    let cur = this.root;
    let i = 0;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      let child = cur.children.get(code);
      if (child === undefined) {
        child = node(text.slice(i), cur);
        cur.children.set(code, child);
        this.touch(child, tenant, now);
        return;
      }
      const l = common(child.edge, text, i);
      if (l < child.edge.length) {
        // Split: the shared head becomes a node of its own with the same tenants.
        const head = node(child.edge.slice(0, l), cur);
        for (const [t, at] of child.tenants) head.tenants.set(t, at);
        child.edge = child.edge.slice(l);
        child.parent = head;
        head.children.set(child.edge.charCodeAt(0), child);
        cur.children.set(code, head);
        child = head;
      }
      this.touch(child, tenant, now);
      i += l;
      cur = child;
    }
  }

  /** Drops the tenant's least recently used leaves until it holds ≤ max characters. */
  evict(tenant: number, max: number): void {
    while (this.size(tenant) > max) {
      const leaves: RadixNode[] = [];
      const walk = (n: RadixNode) => {
        let holds = false;
        for (const c of n.children.values()) {
          if (c.tenants.has(tenant)) {
            holds = true;
            walk(c);
          }
        }
        if (!holds && n !== this.root && n.tenants.has(tenant)) leaves.push(n);
      };
      walk(this.root);
      if (leaves.length === 0) return;
      leaves.sort((a, b) => (a.tenants.get(tenant) as number) - (b.tenants.get(tenant) as number));
      for (const leaf of leaves) {
        if (this.size(tenant) <= max) return;
        this.drop(leaf, tenant);
      }
    }
  }

  private touch(n: RadixNode, tenant: number, now: number): void {
    if (!n.tenants.has(tenant)) this.sizes.set(tenant, this.size(tenant) + n.edge.length);
    n.tenants.set(tenant, now);
  }

  private drop(n: RadixNode, tenant: number): void {
    n.tenants.delete(tenant);
    this.sizes.set(tenant, this.size(tenant) - n.edge.length);
    if (n.tenants.size === 0 && n.children.size === 0 && n.parent !== undefined) n.parent.children.delete(n.edge.charCodeAt(0));
  }
}
