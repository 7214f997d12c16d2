import { expect, it } from 'vitest';
import { index } from './fixtures.js';

it('answers like a Map: get, has, size, iteration in report order (deepest first)', () => {
  const idx = index(2);
  idx.insert('a', idx.blocks('s1s2s3'));
  idx.insert('b', idx.blocks('s1s2'));
  idx.insert('c', idx.blocks('s1'));
  const m = idx.matches(idx.blocks('s1s2s3s4'));
  expect(m.size).toBe(3);
  expect(m.get('a')).toBe(3);
  expect(m.get('c')).toBe(1);
  expect(m.get('zzz')).toBeUndefined();
  expect(m.has('b')).toBe(true);
  expect(m.has('d')).toBe(false);
  expect([...m]).toEqual([['a', 3], ['b', 2], ['c', 1]]);
  expect([...m.keys()]).toEqual(['a', 'b', 'c']);
  expect([...m.values()]).toEqual([3, 2, 1]);
  expect(Object.fromEntries(m.entries())).toEqual({ a: 3, b: 2, c: 1 });
  const seen: string[] = [];
  m.forEach((v, k, map) => {
    seen.push(`${k}=${v}`);
    expect(map).toBe(m);
  });
  expect(seen).toEqual(['a=3', 'b=2', 'c=1']);
});

it('keeps answering from its snapshot after later matches() and removeEngine() calls', () => {
  const idx = index(2);
  idx.insert('a', idx.blocks('s1s2'));
  idx.insert('b', idx.blocks('t1'));
  const first = idx.matches(idx.blocks('s1s2'));
  const second = idx.matches(idx.blocks('t1'));
  expect(first.get('a')).toBe(2);
  expect(first.get('b')).toBeUndefined();
  expect(second.get('b')).toBe(1);
  expect(second.get('a')).toBeUndefined();
  idx.removeEngine('a');
  idx.insert('c', idx.blocks('s1s2')); // may reuse a's slot
  expect(first.get('a')).toBe(2);
  expect(first.get('c')).toBeUndefined();
  expect(idx.matches(idx.blocks('s1s2')).get('c')).toBe(2);
});

it('answers empty for a prompt shorter than a block or with no holder', () => {
  const idx = index(4);
  idx.insert('a', idx.blocks('abcdefgh'));
  expect(idx.matches(idx.blocks('abc')).size).toBe(0);
  expect(idx.matches(idx.blocks('zzzzzzzz')).get('a')).toBeUndefined();
});
