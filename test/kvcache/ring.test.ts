import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RING_SLOTS } from '../../src/common/pool-ring.js';
import type { PoolMember } from '../../src/kvcache/membership.js';
import { buildRing, chainHash, createRingCache } from '../../src/kvcache/ring.js';

const members = (n: number, prefix = 'node'): PoolMember[] => Array.from({ length: n }, (_, i) => ({ node: `${prefix}-${i}`, peerAddress: `10.0.0.${i}:9465` }));

/** Deterministic keys (a seeded xorshift), so the bounds below are checked on the same keys every run. */
function keys(count: number, seed = 1): Uint8Array[] {
  let x = seed;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const k = new Uint8Array(16);
    for (let j = 0; j < 16; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      k[j] = x & 0xff;
    }
    out.push(k);
  }
  return out;
}

describe('pool ring', () => {
  it('homes a chain the same way in every instance, whatever the member order', () => {
    const ms = members(5);
    const a = buildRing(ms);
    const b = buildRing([...ms].reverse());
    expect(Array.from(a.slots)).toEqual(Array.from(b.slots));
    for (const k of keys(500)) expect(a.homeOf('tenant-a', k)?.node).toBe(b.homeOf('tenant-a', k)?.node);
  });

  it('gives the same home for a namespace as text and as its UTF-8 bytes', () => {
    const k = randomBytes(16);
    for (const ns of ['default', 'tenant/ä', 'emoji-😀', '\u{10ffff}x']) {
      expect(chainHash(ns, k)).toBe(chainHash(new TextEncoder().encode(ns), k));
    }
  });

  it('keeps a hash value fixed across releases (agents of one pool must agree)', () => {
    expect(chainHash('default', new Uint8Array(16))).toBe(chainHash('default', new Uint8Array(16)));
    // Pinned (FNV-1a then fmix32, checked by hand): a change would split a pool of mixed agent versions.
    expect(chainHash('default', new Uint8Array(16).fill(1))).toBe(190019182);
  });

  it.each([2, 3, 8])('balances keys over %i members within ±25 %% of a fair share', (n) => {
    const ring = buildRing(members(n));
    const count = new Map<string, number>();
    const ks = keys(40_000, 7 + n);
    for (const k of ks) {
      const home = ring.homeOf('default', k)!.node;
      count.set(home, (count.get(home) ?? 0) + 1);
    }
    expect(count.size).toBe(n);
    const fair = ks.length / n;
    for (const c of count.values()) {
      expect(c).toBeGreaterThan(fair * 0.75);
      expect(c).toBeLessThan(fair * 1.25);
    }
  });

  it('moves only the slots of the member that left, and about 1/N of them', () => {
    const all = members(8);
    const before = buildRing(all);
    const after = buildRing(all.filter((m) => m.node !== 'node-3'));
    let moved = 0;
    for (let s = 0; s < RING_SLOTS; s++) {
      const was = before.members[before.slots[s]!]!.node;
      const now = after.members[after.slots[s]!]!.node;
      if (was !== now) {
        moved += 1;
        expect(was).toBe('node-3');
      } else {
        expect(was).not.toBe('node-3');
      }
    }
    expect(moved).toBeGreaterThan(RING_SLOTS / 8 / 2);
    expect(moved).toBeLessThan((RING_SLOTS / 8) * 1.5);
  });

  it('moves slots only onto a member that joins', () => {
    const before = buildRing(members(3));
    const after = buildRing([...members(3), { node: 'late', peerAddress: 'x:1' }]);
    let moved = 0;
    for (let s = 0; s < RING_SLOTS; s++) {
      const was = before.members[before.slots[s]!]!.node;
      const now = after.members[after.slots[s]!]!.node;
      if (was !== now) {
        moved += 1;
        expect(now).toBe('late');
      }
    }
    expect(moved).toBeGreaterThan(RING_SLOTS / 4 / 2);
    expect(moved).toBeLessThan((RING_SLOTS / 4) * 1.5);
  });

  it('homes nothing with no members', () => {
    const ring = buildRing([]);
    expect(ring.homeOf('default', new Uint8Array(16))).toBeUndefined();
  });

  it('homes everything on a single member', () => {
    const ring = buildRing(members(1));
    for (const k of keys(50)) expect(ring.homeOf('ns', k)?.node).toBe('node-0');
  });

  it('builds the ring once per membership version', () => {
    const ringOf = createRingCache();
    const m1 = { version: 1, self: 'node-0', members: members(3), pairKeys: new Map() };
    const r1 = ringOf(m1);
    expect(ringOf(m1)).toBe(r1);
    expect(ringOf({ ...m1 })).toBe(r1);
    const r2 = ringOf({ ...m1, version: 2, members: members(4) });
    expect(r2).not.toBe(r1);
    expect(r2.version).toBe(2);
    expect(r2.members).toHaveLength(4);
  });
});
