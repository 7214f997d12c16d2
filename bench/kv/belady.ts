/**
 * Belady's offline optimum as the ceiling for the policies, with the simulator's request semantics:
 * a request's cached prefix is a hit and stays pinned, its missing blocks are all admitted in chain
 * order (no bypass), and each admission into a full cache evicts the cached block whose next use is
 * farthest in the future (never-used-again blocks first). Times are positions in the block stream,
 * so a parent's next use always comes before its child's: the farthest block is never a parent of a
 * cached block, and eviction is leaf first without being told.
 */
import type { Workload } from './workload.js';
import { requestCount } from './workload.js';

/** For every stream position, the position of the same block's next occurrence; Infinity-like keys
 * (≥ blocks.length) for blocks never seen again, distinct per position. */
export function nextUses(blocks: Int32Array): Int32Array {
  const next = new Int32Array(blocks.length);
  const last = new Map<number, number>();
  for (let p = blocks.length - 1; p >= 0; p--) {
    const b = blocks[p] as number;
    next[p] = last.get(b) ?? blocks.length + p;
    last.set(b, p);
  }
  return next;
}

/** A max-heap of (key, slot) with lazily discarded stale entries. */
class MaxHeap {
  keys = new Int32Array(1024);
  slots = new Int32Array(1024);
  size = 0;

  push(key: number, slot: number): void {
    if (this.size === this.keys.length) {
      const k = new Int32Array(this.size * 2);
      const s = new Int32Array(this.size * 2);
      k.set(this.keys);
      s.set(this.slots);
      this.keys = k;
      this.slots = s;
    }
    let i = this.size++;
    const keys = this.keys;
    const slots = this.slots;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((keys[p] as number) >= key) break;
      keys[i] = keys[p] as number;
      slots[i] = slots[p] as number;
      i = p;
    }
    keys[i] = key;
    slots[i] = slot;
  }

  /** Removes the top; read topKey/topSlot first. */
  pop(): void {
    const keys = this.keys;
    const slots = this.slots;
    const n = --this.size;
    const key = keys[n] as number;
    const slot = slots[n] as number;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (keys[c + 1] as number) > (keys[c] as number)) c++;
      if ((keys[c] as number) <= key) break;
      keys[i] = keys[c] as number;
      slots[i] = slots[c] as number;
      i = c;
    }
    keys[i] = key;
    slots[i] = slot;
  }
}

export interface BeladyResult {
  readonly hitBlocks: number;
  readonly requestedBlocks: number;
  /** Per request: its prefix hits. */
  readonly hits: Int32Array;
}

export function belady(w: Workload, capacity: number): BeladyResult {
  const { blocks, starts } = w;
  const next = nextUses(blocks);
  let maxId = 0;
  for (const b of blocks) if (b > maxId) maxId = b;
  const slotOf = new Int32Array(maxId + 1).fill(-1);
  const blockOf = new Int32Array(capacity).fill(-1);
  const key = new Int32Array(capacity);
  const free = Int32Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  let freeTop = capacity;
  let heap = new MaxHeap();
  const requests = requestCount(w);
  const hits = new Int32Array(requests);
  let hitBlocks = 0;

  for (let r = 0; r < requests; r++) {
    const start = starts[r] as number;
    const end = starts[r + 1] as number;
    let p = start;
    while (p < end && (slotOf[blocks[p] as number] as number) >= 0) p++;
    hits[r] = p - start;
    hitBlocks += p - start;
    // Admit the rest; this request's blocks are pinned: the hits' live keys are positions inside
    // [start, end), below every other cached block's next use, and the new blocks join the heap after.
    let admitted = p;
    for (; admitted < end; admitted++) {
      const b = blocks[admitted] as number;
      if ((slotOf[b] as number) >= 0) continue;
      if (freeTop === 0) {
        let victim = -1;
        while (heap.size > 0) {
          const k = heap.keys[0] as number;
          const s = heap.slots[0] as number;
          if (blockOf[s] === -1 || key[s] !== k) {
            heap.pop();
            continue;
          }
          if (k < end) break; // only this request's pinned blocks are left
          heap.pop();
          victim = s;
          break;
        }
        if (victim < 0) break;
        slotOf[blockOf[victim] as number] = -1;
        blockOf[victim] = -1;
        free[freeTop++] = victim;
      }
      const s = free[--freeTop] as number;
      slotOf[b] = s;
      blockOf[s] = b;
      key[s] = -1;
    }
    for (let q = start; q < admitted; q++) {
      const s = slotOf[blocks[q] as number] as number;
      if (s < 0) continue;
      key[s] = next[q] as number;
      heap.push(next[q] as number, s);
    }
    // Stale entries pile up at the bottom; rebuild from the live ones now and then.
    if (heap.size > 4 * capacity + 1024) {
      const fresh = new MaxHeap();
      for (let s = 0; s < capacity; s++) if (blockOf[s] !== -1) fresh.push(key[s] as number, s);
      heap = fresh;
    }
  }
  let requestedBlocks = 0;
  for (let r = 0; r < requests; r++) requestedBlocks += (starts[r + 1] as number) - (starts[r] as number);
  return { hitBlocks, requestedBlocks, hits };
}
