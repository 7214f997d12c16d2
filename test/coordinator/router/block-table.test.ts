import { expect, it } from 'vitest';
import { BlockTable } from '../../../src/coordinator/router/block-table.js';
import { seeded } from './fixtures.js';

function holders(t: BlockTable, hash: number): string[] {
  const out: string[] = [];
  for (let n = t.head(hash); n !== -1; n = t.nextHolder(n)) out.push(t.uidOf(t.slotOfNode(n)));
  return out.sort();
}

it('keeps pairs, holder lists with counts and LRU order through adds, touches and removals', () => {
  const t = new BlockTable(16);
  const a = t.ensureSlot('a');
  const b = t.ensureSlot('b');
  expect(t.ensureSlot('a')).toBe(a);
  const big = 2 ** 52 + 12345;
  const n1 = t.add(a, big);
  const n2 = t.add(a, 7);
  const n3 = t.add(b, big);
  expect(t.find(a, big)).toBe(n1);
  expect(t.find(b, 7)).toBe(-1);
  expect(t.holderCount(big)).toBe(2);
  expect(holders(t, big)).toEqual(['a', 'b']);
  expect(t.oldest(a)).toBe(n1);
  t.touch(n1);
  expect(t.oldest(a)).toBe(n2);
  // Removing the head of a holder list hands the head (and the count) to the next holder.
  t.remove(t.head(big));
  expect(t.holderCount(big)).toBe(1);
  expect(holders(t, big).length).toBe(1);
  t.remove(t.head(big));
  expect(t.holderCount(big)).toBe(0);
  expect(t.find(a, big)).toBe(-1);
  expect(t.find(b, big)).toBe(-1);
  expect(t.size).toBe(1);
  expect(t.count(a)).toBe(1);
  expect(t.count(b)).toBe(0);
  void n3;
  t.removeSlot(a);
  expect(t.slot('a')).toBe(-1);
  expect(t.size).toBe(0);
  // A freed slot is reused by the next engine.
  expect(t.ensureSlot('c')).toBe(a);
});

it('grows past its initial size and stays consistent with a reference under random operations', () => {
  const rand = seeded(5);
  const t = new BlockTable(16);
  const ref = new Map<string, Set<number>>();
  const uids = ['a', 'b', 'c', 'd'];
  for (let step = 0; step < 20_000; step++) {
    const uid = uids[Math.floor(rand() * 4)] as string;
    const slot = t.ensureSlot(uid);
    const set = ref.get(uid) ?? new Set<number>();
    ref.set(uid, set);
    const hash = Math.floor(rand() * 3000) * 2 ** 30 + 17;
    const node = t.find(slot, hash);
    expect(node !== -1).toBe(set.has(hash));
    if (node === -1) {
      t.add(slot, hash);
      set.add(hash);
    } else if (rand() < 0.5) {
      t.remove(node);
      set.delete(hash);
    } else {
      t.touch(node);
    }
    if (rand() < 0.2 && t.count(slot) > 0) {
      const oldest = t.oldest(slot);
      for (const h of set) {
        if (t.find(slot, h) === oldest) set.delete(h);
      }
      t.remove(oldest);
    }
  }
  let total = 0;
  for (const [uid, set] of ref) {
    expect(t.count(t.slot(uid))).toBe(set.size);
    total += set.size;
  }
  expect(t.size).toBe(total);
  expect(total).toBeGreaterThan(1000);
  for (let i = 0; i < 3000; i++) {
    const hash = i * 2 ** 30 + 17;
    const expected = uids.filter((u) => ref.get(u)?.has(hash));
    expect(holders(t, hash)).toEqual(expected);
    expect(t.holderCount(hash)).toBe(expected.length);
  }
});
