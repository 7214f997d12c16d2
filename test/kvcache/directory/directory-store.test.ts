// The home-side directory store: HOLD/EVICT deltas per holder, expiry by TTL through sweep(now) and
// on read, refresh by re-publish, the entry bound (oldest forgotten first), holders that leave.
import { describe, expect, it } from 'vitest';
import { NO_HOLDER } from '../../../src/kvcache/directory-types.js';
import { DirectoryStore } from '../../../src/kvcache/directory/directory-store.js';
import { DeltaKind, DeltaStatus, PUBLISH_ITEM_BYTES } from '../../../src/kvcache/peer/peer-protocol.js';
import { keys } from '../shard-fixture.js';

/** PUBLISH items for every key of `k`, all of `kind`. */
function items(k: Buffer, kind: number = DeltaKind.HOLD): Buffer {
  const n = k.length / 16;
  const out = Buffer.alloc(n * PUBLISH_ITEM_BYTES);
  for (let i = 0; i < n; i++) {
    k.copy(out, i * PUBLISH_ITEM_BYTES, i * 16, i * 16 + 16);
    out.writeUInt32LE(4096, i * PUBLISH_ITEM_BYTES + 16);
    out[i * PUBLISH_ITEM_BYTES + 20] = kind;
  }
  return out;
}

function publish(s: DirectoryStore, ns: string, holder: string, k: Buffer, now: number, kind: number = DeltaKind.HOLD): Uint8Array {
  const status = new Uint8Array(k.length / 16);
  s.publish(ns, holder, items(k, kind), now, status);
  return status;
}

/** Holder name per key (undefined = none). */
function holdersOf(s: DirectoryStore, ns: string, k: Buffer, now: number, exclude?: string): (string | undefined)[] {
  const a = s.lookup(ns, k, now, exclude);
  return [...a.holderOf].map((i) => (i === NO_HOLDER ? undefined : a.holders[i]));
}

describe('directory store', () => {
  it('answers the holder of each key of a chain; other namespaces see nothing', () => {
    const s = new DirectoryStore({ ttlMs: 1000, maxEntries: 100 });
    expect([...publish(s, 'ns', 'a', keys(1, 3), 0)]).toEqual([DeltaStatus.APPLIED, DeltaStatus.APPLIED, DeltaStatus.APPLIED]);
    expect(holdersOf(s, 'ns', keys(1, 4), 10)).toEqual(['a', 'a', 'a', undefined]);
    expect(holdersOf(s, 'other', keys(1, 3), 10)).toEqual([undefined, undefined, undefined]);
    expect(s.size).toBe(3);
  });

  it('expires entries at publish + TTL (on read and by sweep); a re-publish refreshes them', () => {
    const s = new DirectoryStore({ ttlMs: 1000, maxEntries: 100 });
    publish(s, 'ns', 'a', keys(1, 2), 0);
    publish(s, 'ns', 'a', keys(1, 1), 600); // refreshes key 0 only
    expect(holdersOf(s, 'ns', keys(1, 2), 999)).toEqual(['a', 'a']);
    expect(holdersOf(s, 'ns', keys(1, 2), 1000)).toEqual(['a', undefined]);
    expect(s.sweep(1000)).toBe(1);
    expect(s.size).toBe(1);
    expect(s.sweep(1599)).toBe(0);
    expect(s.sweep(1600)).toBe(1);
    expect(s.size).toBe(0);
  });

  it('an EVICT delta removes only that holder', () => {
    const s = new DirectoryStore({ ttlMs: 1000, maxEntries: 100 });
    publish(s, 'ns', 'a', keys(1, 2), 0);
    publish(s, 'ns', 'b', keys(1, 2), 5);
    expect(holdersOf(s, 'ns', keys(1, 2), 10)).toEqual(['b', 'b']);
    expect([...publish(s, 'ns', 'b', keys(1, 1), 20, DeltaKind.EVICT)]).toEqual([DeltaStatus.APPLIED]);
    // Key 1 keeps key 0's holder (a holds both); without a, only b's entry for key 1 is left.
    expect(holdersOf(s, 'ns', keys(1, 2), 30)).toEqual(['a', 'a']);
    expect(holdersOf(s, 'ns', keys(1, 2), 30, 'a')).toEqual([undefined, 'b']);
    // An EVICT of what is not held is applied (idempotent); an unknown kind is dropped.
    expect([...publish(s, 'ns', 'c', keys(1, 1), 30, DeltaKind.EVICT)]).toEqual([DeltaStatus.APPLIED]);
    expect([...publish(s, 'ns', 'c', keys(1, 1), 30, 7)]).toEqual([DeltaStatus.DROPPED]);
    expect(s.size).toBe(3);
  });

  it('never answers the asker, and keeps one holder along a chain where it can', () => {
    const s = new DirectoryStore({ ttlMs: 1000, maxEntries: 100 });
    publish(s, 'ns', 'a', keys(1, 4), 0);
    publish(s, 'ns', 'b', keys(1, 2), 1); // b is fresher on keys 0-1
    expect(holdersOf(s, 'ns', keys(1, 4), 2)).toEqual(['b', 'b', 'a', 'a']);
    expect(holdersOf(s, 'ns', keys(1, 4), 2, 'b')).toEqual(['a', 'a', 'a', 'a']);
    publish(s, 'ns', 'b', keys(1, 1, 2), 3); // b also holds key 2, a is kept on key 3 only because b lacks it
    expect(holdersOf(s, 'ns', keys(1, 4), 4)).toEqual(['b', 'b', 'b', 'a']);
  });

  it('holds at most maxEntries, forgetting the oldest first (expired or not)', () => {
    const s = new DirectoryStore({ ttlMs: 10_000, maxEntries: 1500 });
    for (let i = 0; i < 2000; i++) publish(s, 'ns', 'a', keys(7, 1, i), i);
    expect(s.size).toBe(1500);
    expect(s.evictedLive).toBe(500);
    expect(holdersOf(s, 'ns', keys(7, 1, 499), 1999)).toEqual([undefined]);
    expect(holdersOf(s, 'ns', keys(7, 1, 500), 1400)).toEqual(['a']);
    expect(holdersOf(s, 'ns', keys(7, 1, 1999), 1999)).toEqual(['a']);
    // Grown storage keeps every entry findable (it started below 1500 and doubled).
    let found = 0;
    for (let i = 500; i < 2000; i++) if (holdersOf(s, 'ns', keys(7, 1, i), 1400)[0] === 'a') found++;
    expect(found).toBe(1500);
  });

  it('drops every entry of a holder that left the membership', () => {
    const s = new DirectoryStore({ ttlMs: 1000, maxEntries: 100 });
    publish(s, 'ns', 'a', keys(1, 3), 0);
    publish(s, 'ns', 'b', keys(1, 2), 0);
    publish(s, 'x', 'b', keys(2, 2), 0);
    expect(s.retainHolders(new Set(['a', 'c']))).toBe(4);
    expect(s.size).toBe(3);
    expect(holdersOf(s, 'ns', keys(1, 3), 1)).toEqual(['a', 'a', 'a']);
    expect(holdersOf(s, 'x', keys(2, 2), 1)).toEqual([undefined, undefined]);
    // The holder may come back.
    publish(s, 'x', 'b', keys(2, 1), 2);
    expect(holdersOf(s, 'x', keys(2, 1), 3)).toEqual(['b']);
  });
});
