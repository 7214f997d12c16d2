import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EntryState, KvIndex, ORPHAN } from '../../src/kvcache/index.js';

function key(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(i, 0);
  b.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, 8);
  return b;
}

describe('KvIndex', () => {
  it('finds, separates namespaces and reuses freed ids', () => {
    const ix = new KvIndex(8);
    const a = ix.insert(1, key(1), 0, 10, 100, -1);
    const b = ix.insert(2, key(1), 0, 11, 200, -1);
    expect(ix.find(1, key(1))).toBe(a);
    expect(ix.find(2, key(1))).toBe(b);
    expect(ix.find(3, key(1))).toBe(-1);
    expect(ix.stateOf(a)).toBe(EntryState.WRITING);
    expect(ix.size).toBe(2);
    ix.remove(a);
    expect(ix.find(1, key(1))).toBe(-1);
    expect(ix.find(2, key(1))).toBe(b);
    expect(ix.insert(1, key(9), 0, 12, 1, -1)).toBe(a);
    expect(Buffer.from(ix.keyBytes(a)).equals(key(9))).toBe(true);
  });

  it('reports full and refuses inserts beyond capacity', () => {
    const ix = new KvIndex(3);
    for (let i = 0; i < 3; i++) expect(ix.insert(0, key(i), 0, i, 1, -1)).toBeGreaterThanOrEqual(0);
    expect(ix.full).toBe(true);
    expect(ix.insert(0, key(99), 0, 0, 1, -1)).toBe(-1);
  });

  it('keeps parent/child links: leaves, unlinking, orphans become roots (writing ones marked)', () => {
    const ix = new KvIndex(8);
    const root = ix.insert(0, key(0), 0, 0, 1, -1);
    const c1 = ix.insert(0, key(1), 0, 1, 1, root);
    const c2 = ix.insert(0, key(2), 0, 2, 1, root);
    const g = ix.insert(0, key(3), 0, 3, 1, c1);
    expect(ix.isLeaf(root)).toBe(false);
    expect(ix.isLeaf(g)).toBe(true);
    ix.remove(c2);
    expect(ix.isLeaf(root)).toBe(false);
    ix.remove(g);
    expect(ix.isLeaf(c1)).toBe(true);
    const w = ix.insert(0, key(4), 0, 4, 1, root);
    ix.setSealed(c1);
    ix.remove(root);
    expect(ix.parent[c1]).toBe(-1);
    // A block still being written whose parent went away must not be sealed as a root.
    expect(ix.parent[w]).toBe(ORPHAN);
    ix.remove(w);
    expect(ix.size).toBe(1);
  });

  it('stays consistent with a Map under random churn', () => {
    const n = 2000;
    const ix = new KvIndex(n);
    const model = new Map<string, number>();
    const keys = Array.from({ length: 3000 }, () => randomBytes(16));
    for (let step = 0; step < 20000; step++) {
      const k = keys[step % 7 === 0 ? step % 50 : Math.floor(Math.random() * keys.length)] as Buffer;
      const hex = k.toString('hex');
      const id = ix.find(0, k);
      expect(id >= 0).toBe(model.has(hex));
      if (id >= 0) {
        expect(model.get(hex)).toBe(id);
        if (Math.random() < 0.5) {
          ix.remove(id);
          model.delete(hex);
        }
      } else if (!ix.full) {
        model.set(hex, ix.insert(0, k, 0, 0, 1, -1));
      }
      expect(ix.size).toBe(model.size);
    }
  });

  it('holds an entry in at most 64 bytes of typed arrays (with buckets)', () => {
    const ix = new KvIndex(1 << 20);
    expect(ix.memoryBytes / ix.capacity).toBeLessThanOrEqual(45);
  });

  it('gives distinct, non-negative 31-bit fingerprints', () => {
    const ix = new KvIndex(4);
    const a = ix.insert(0, key(1), 0, 0, 1, -1);
    const b = ix.insert(0, key(2), 0, 0, 1, -1);
    const c = ix.insert(1, key(1), 0, 0, 1, -1);
    const f = [a, b, c].map((id) => ix.fingerprint(id));
    for (const x of f) expect(x >= 0 && x < 2 ** 31).toBe(true);
    expect(new Set(f).size).toBe(3);
  });
});
