import { describe, expect, it } from 'vitest';
import { RadixTree } from '../../../../bench/routing/baselines/radix-tree.js';

describe('multi-tenant radix tree', () => {
  it('matches the longest prefix seen by any tenant and names the tenants at its deepest node', () => {
    const t = new RadixTree();
    t.insert('hello world', 0, 1);
    t.insert('hello there', 1, 2);
    expect(t.match('hello world!')).toEqual({ matched: 11, tenants: [0] });
    // "hello " is shared: the split node holds both tenants; the walk stops inside "there".
    expect(t.match('hello th')).toEqual({ matched: 8, tenants: [1] });
    expect(t.match('hello x')).toEqual({ matched: 6, tenants: [0, 1] });
    expect(t.match('xyz')).toEqual({ matched: 0, tenants: [] });
  });

  it('counts the characters each tenant holds, shared edges once per tenant', () => {
    const t = new RadixTree();
    t.insert('abcdef', 0, 1);
    t.insert('abcxyz', 0, 2);
    t.insert('abc', 1, 3);
    expect(t.size(0)).toBe(9); // abc + def + xyz
    expect(t.size(1)).toBe(3);
    expect(t.size(2)).toBe(0);
    t.insert('abcdef', 0, 4); // nothing new
    expect(t.size(0)).toBe(9);
  });

  it('evicts a tenant\'s least recently used leaves down to the limit', () => {
    const t = new RadixTree();
    t.insert('root-aaaa', 0, 1);
    t.insert('root-bbbb', 0, 2);
    t.insert('root-cccc', 0, 3);
    t.insert('root-aaaa', 1, 4);
    expect(t.size(0)).toBe(17);
    t.evict(0, 10);
    expect(t.size(0)).toBeLessThanOrEqual(10);
    // The oldest leaves (aaaa, then bbbb) went; cccc stays; tenant 1 keeps aaaa.
    expect(t.match('root-cccc').tenants).toEqual([0]);
    expect(t.match('root-aaaa').tenants).toEqual([1]);
    expect(t.match('root-bbbb')).toEqual({ matched: 5, tenants: [0, 1] });
    expect(t.size(1)).toBe(9);
  });
});
