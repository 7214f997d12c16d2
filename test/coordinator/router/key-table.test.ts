import { describe, expect, it } from 'vitest';
import { EntryTable, KeyTable } from '../../../src/coordinator/router/key-table.js';
import { seeded } from './fixtures.js';

describe('KeyTable', () => {
  it('agrees with a Map under random sets and deletes, through growth and probe-run shifts', () => {
    const rand = seeded(7);
    const t = new KeyTable(4);
    const ref = new Map<string, number>();
    // Few distinct keys and slots so probe runs collide and deletions shift often.
    const keys = Array.from({ length: 300 }, () => Math.floor(rand() * 2 ** 53));
    for (let step = 0; step < 20_000; step++) {
      const key = keys[Math.floor(rand() * keys.length)] as number;
      const slot = Math.floor(rand() * 3);
      const id = `${key}/${slot}`;
      if (rand() < 0.55) {
        t.set(key, slot, step);
        ref.set(id, step);
      } else {
        expect(t.delete(key, slot)).toBe(ref.delete(id));
      }
      if (step % 97 === 0) {
        for (const k of keys.slice(0, 40)) for (let s = 0; s < 3; s++) expect(t.get(k, s)).toBe(ref.get(`${k}/${s}`) ?? -1);
      }
    }
    expect(t.size).toBe(ref.size);
    for (const [id, v] of ref) {
      const [k, s] = id.split('/').map(Number) as [number, number];
      expect(t.get(k, s)).toBe(v);
    }
  });

  it('deletes only the given entry when one is named', () => {
    const t = new KeyTable();
    t.set(12345678901, 0, 5);
    expect(t.delete(12345678901, 0, 6)).toBe(false);
    expect(t.get(12345678901, 0)).toBe(5);
    expect(t.get(12345678901, 1)).toBe(-1);
    expect(t.delete(12345678901, 0, 5)).toBe(true);
    expect(t.size).toBe(0);
  });
});

describe('EntryTable', () => {
  it('agrees with a Map under random sets and deletes, reading keys and slots from the entries, through growth and rebinding', () => {
    const rand = seeded(11);
    let keys = new Float64Array(64);
    let slots = new Int32Array(64);
    const t = new EntryTable(keys, slots, 4);
    const ref = new Map<string, number>();
    const pool = Array.from({ length: 300 }, () => Math.floor(rand() * 2 ** 53));
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      const key = pool[Math.floor(rand() * pool.length)] as number;
      const slot = Math.floor(rand() * 3);
      const id = `${key}/${slot}`;
      if (rand() < 0.55) {
        // A new entry carrying the pair (the owner grows its arrays and rebinds).
        if (next === keys.length) {
          const k2 = new Float64Array(keys.length * 2);
          k2.set(keys);
          const s2 = new Int32Array(slots.length * 2);
          s2.set(slots);
          keys = k2;
          slots = s2;
          t.rebind(keys, slots);
        }
        const e = next++;
        keys[e] = key;
        slots[e] = slot;
        t.set(key, slot, e);
        ref.set(id, e);
      } else {
        expect(t.delete(key, slot)).toBe(ref.delete(id));
      }
      if (step % 97 === 0) {
        for (const k of pool.slice(0, 40)) for (let s = 0; s < 3; s++) expect(t.get(k, s)).toBe(ref.get(`${k}/${s}`) ?? -1);
      }
    }
    expect(t.size).toBe(ref.size);
    for (const [id, v] of ref) {
      const [k, s] = id.split('/').map(Number) as [number, number];
      expect(t.get(k, s)).toBe(v);
    }
  });

  it('deletes only the given entry when one is named', () => {
    const keys = new Float64Array([12345678901, 12345678901]);
    const slots = new Int32Array([0, 0]);
    const t = new EntryTable(keys, slots);
    t.set(12345678901, 0, 0);
    t.set(12345678901, 0, 1);
    expect(t.get(12345678901, 0)).toBe(1);
    expect(t.delete(12345678901, 0, 0)).toBe(false);
    expect(t.delete(12345678901, 0, 1)).toBe(true);
    expect(t.size).toBe(0);
  });
});
