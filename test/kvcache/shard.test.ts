import { describe, expect, it } from 'vitest';
import { EntryState, ORPHAN } from '../../src/kvcache/index.js';
import { AllocFlag, ItemStatus, Status } from '../../src/kvcache/protocol.js';
import { KvShard, type Namespace } from '../../src/kvcache/shard.js';
import { MiB, keys, shardOptions, statusOf } from './shard-fixture.js';

/** ALLOC through the shard; returns statuses and entry ids. */
function alloc(shard: KvShard, ns: Namespace, k: Buffer, len = MiB, flags = 0, parent?: Buffer) {
  const n = k.length / 16;
  const status = new Uint8Array(n);
  const ids = new Int32Array(n);
  shard.alloc(ns, { keys: k, lengths: new Uint32Array(n).fill(len), flags: flags | (parent ? AllocFlag.PARENT : 0), parent }, status, ids);
  return { status: [...status], ids: [...ids] };
}

function put(shard: KvShard, ns: Namespace, k: Buffer, flags = 0) {
  const r = alloc(shard, ns, k, MiB, flags);
  for (const id of r.ids) if (id >= 0) shard.seal(id);
  return r;
}

/** Every sealed block's parent is sealed (the parent invariant); bytes add up; capacity holds. */
function checkInvariants(shard: KvShard) {
  const ix = shard.index;
  let live = 0;
  for (let id = 0; id < ix.capacity; id++) {
    if (ix.stateOf(id) === EntryState.FREE) continue;
    live++;
    const p = ix.parent[id] as number;
    if (ix.stateOf(id) === EntryState.SEALED) {
      expect(p).not.toBe(ORPHAN);
      if (p >= 0) expect(ix.stateOf(p)).toBe(EntryState.SEALED);
    }
  }
  expect(live).toBe(ix.size);
  const b = shard.bytesByState();
  expect(b.free + b.writing + b.sealed).toBe(shard.allocator.capacityBytes);
  expect(b.free).toBeGreaterThanOrEqual(0);
  expect(shard.allocator.allocatedBytes).toBe(b.writing + b.sealed);
}

describe('KvShard namespaces', () => {
  it('validates HELLO and keeps one layout per namespace', () => {
    const s = new KvShard(shardOptions());
    expect(statusOf(() => s.hello('', '', MiB))).toBe(Status.BAD_HELLO);
    expect(statusOf(() => s.hello('a', '', 100))).toBe(Status.BAD_HELLO);
    expect(statusOf(() => s.hello('a', '', 2 * MiB))).toBe(Status.BAD_HELLO);
    const a = s.hello('a', 'ncld16', MiB);
    expect(a.slotSize).toBe(MiB);
    expect(statusOf(() => s.hello('a', 'ncld16', MiB / 2))).toBe(Status.LAYOUT_MISMATCH);
    expect(statusOf(() => s.hello('a', 'lcnd16', MiB))).toBe(Status.LAYOUT_MISMATCH);
    expect(s.hello('a', 'ncld16', MiB).id).toBe(a.id);
  });

  it('refuses namespaces beyond the limit unless one is idle', () => {
    const s = new KvShard(shardOptions({ maxNamespaces: 2 }));
    const a = s.hello('a', '', MiB);
    s.hello('b', '', MiB);
    expect(statusOf(() => s.hello('c', '', MiB))).toBe(Status.TOO_MANY_NAMESPACES);
    s.goodbye(a);
    expect(s.hello('c', '', MiB).id).toBe(a.id);
  });

  it('wipes an idle namespace holding little to make room, never a connected or a large one', () => {
    // 8 MiB, 2 namespaces: "little" is at most 4 MiB.
    const s = new KvShard(shardOptions({ maxNamespaces: 2 }));
    const a = s.hello('a', '', MiB);
    const b = s.hello('b', '', MiB);
    put(s, a, keys(1, 2));
    put(s, b, keys(2, 5), AllocFlag.INDEPENDENT);
    // Both connected: refused, nothing dropped.
    expect(statusOf(() => s.hello('c', '', MiB))).toBe(Status.TOO_MANY_NAMESPACES);
    s.goodbye(b);
    // b is idle but holds 5 MiB: kept.
    expect(statusOf(() => s.hello('c', '', MiB))).toBe(Status.TOO_MANY_NAMESPACES);
    expect(s.lookup(b, keys(2, 1), 'exists')).toBe(1);
    s.goodbye(a);
    // a is idle with 2 MiB: its blocks go, c takes its slot; b keeps everything.
    const c = s.hello('c', '', MiB);
    expect(c.id).toBe(a.id);
    expect(s.lookup(c, keys(1, 2), 'exists')).toBe(0);
    expect(s.namespaceSummaries().map((n) => [n.name, n.entries])).toEqual([
      ['c', 0],
      ['b', 5],
    ]);
    expect(put(s, c, keys(3, 2)).status).toEqual([ItemStatus.OK, ItemStatus.OK]);
    checkInvariants(s);
  });

  it('isolates namespaces: the same key in another namespace is a miss', () => {
    const s = new KvShard(shardOptions());
    const a = s.hello('a', '', MiB);
    const b = s.hello('b', '', MiB);
    put(s, a, keys(1, 2));
    expect(s.lookup(a, keys(1, 2), 'exists')).toBe(2);
    expect(s.lookup(b, keys(1, 2), 'exists')).toBe(0);
  });
});

describe('KvShard writes and reads', () => {
  it('hides blocks until SEAL and returns the longest sealed prefix', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    const r = alloc(s, ns, keys(1, 4));
    expect(r.status).toEqual([0, 0, 0, 0]);
    expect(s.lookup(ns, keys(1, 4), 'exists')).toBe(0);
    expect(s.seal(r.ids[0] as number)).toBe(ItemStatus.OK);
    expect(s.seal(r.ids[1] as number)).toBe(ItemStatus.OK);
    // Block 3 continues block 2, still being written: it cannot be sealed before it.
    expect(s.seal(r.ids[3] as number)).toBe(ItemStatus.NO_PARENT);
    expect(s.lookup(ns, keys(1, 4), 'exists')).toBe(2);
    const pinned = new Int32Array(4);
    expect(s.lookup(ns, keys(1, 4), 'lookup', pinned)).toBe(2);
    expect(s.leases()).toEqual({ read: 2, write: 2 });
    s.unpin(pinned[0] as number);
    s.unpin(pinned[1] as number);
    expect(() => s.unpin(pinned[0] as number)).toThrow();
    checkInvariants(s);
  });

  it('answers EXISTS, BUSY, DUPLICATE and BAD_LENGTH per item', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    put(s, ns, keys(1, 1));
    alloc(s, ns, keys(2, 1));
    const dup = Buffer.concat([keys(3, 1), keys(3, 1)]);
    expect(alloc(s, ns, Buffer.concat([keys(1, 1), keys(2, 1)]), MiB, AllocFlag.INDEPENDENT).status).toEqual([ItemStatus.EXISTS, ItemStatus.BUSY]);
    expect(alloc(s, ns, dup, MiB, AllocFlag.INDEPENDENT).status).toEqual([ItemStatus.OK, ItemStatus.DUPLICATE]);
    expect(alloc(s, ns, keys(4, 1), MiB + 1).status).toEqual([ItemStatus.BAD_LENGTH]);
    expect(alloc(s, ns, keys(4, 1), 0).status).toEqual([ItemStatus.BAD_LENGTH]);
    checkInvariants(s);
  });

  it('abort frees the slot and shows nothing', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    const r = alloc(s, ns, keys(1, 8));
    for (const id of r.ids) s.abort(id, 'disconnect');
    expect(s.bytesByState()).toEqual({ free: 8 * MiB, writing: 0, sealed: 0 });
    expect(s.index.size).toBe(0);
    expect(s.lookup(ns, keys(1, 8), 'exists')).toBe(0);
    expect(alloc(s, ns, keys(2, 8)).status.every((x) => x === ItemStatus.OK)).toBe(true);
  });
});

describe('KvShard eviction', () => {
  it('evicts to make room, never a leased block, and says FULL when everything is pinned', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    put(s, ns, keys(1, 8), AllocFlag.INDEPENDENT);
    const pinned = new Int32Array(8);
    expect(s.lookup(ns, keys(1, 8), 'lookup', pinned)).toBe(8);
    expect(alloc(s, ns, keys(2, 1)).status).toEqual([ItemStatus.FULL]);
    s.unpin(pinned[5] as number);
    expect(alloc(s, ns, keys(2, 1)).status).toEqual([ItemStatus.OK]);
    // Block 5 was the only unpinned one.
    expect(s.lookup(ns, keys(1, 8, 5).subarray(0, 16), 'exists')).toBe(0);
    expect(s.lookup(ns, keys(1, 5), 'exists')).toBe(5);
    checkInvariants(s);
  });

  it('evicts leaves first: a cached block keeps its parent', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    put(s, ns, keys(1, 8));
    put(s, ns, keys(2, 3), AllocFlag.INDEPENDENT);
    // Three evictions: always the current tail of chain 1, never its root.
    expect(s.lookup(ns, keys(1, 8), 'exists')).toBe(5);
    checkInvariants(s);
  });

  it('keeps a namespace inside its quota by evicting its own blocks, else QUOTA', () => {
    const s = new KvShard(shardOptions({ quotas: new Map([['t', 2 * MiB]]) }));
    const t = s.hello('t', '', MiB);
    const o = s.hello('o', '', MiB);
    put(s, o, keys(9, 3), AllocFlag.INDEPENDENT);
    put(s, t, keys(1, 2), AllocFlag.INDEPENDENT);
    expect(put(s, t, keys(2, 1)).status).toEqual([ItemStatus.OK]);
    expect(s.namespaceSummaries().find((n) => n.name === 't')?.bytes).toBe(2 * MiB);
    expect(s.lookup(o, keys(9, 3), 'exists')).toBe(3);
    const pinned = new Int32Array(2);
    s.lookup(t, keys(2, 1), 'lookup', pinned);
    s.lookup(t, keys(1, 2, 1).subarray(0, 16), 'lookup', pinned.subarray(1));
    expect(alloc(s, t, keys(3, 1)).status).toEqual([ItemStatus.QUOTA]);
    checkInvariants(s);
  });

  it('keeps a namespace without a quota inside --kv.namespace-share while another holds blocks', () => {
    // 8 MiB shard, share 50 %: 4 MiB once another namespace holds anything.
    const s = new KvShard(shardOptions({ namespaceShare: 0.5 }));
    const big = s.hello('big', '', MiB);
    const o = s.hello('o', '', MiB);
    // Alone, a namespace may fill the shard (the one-model node loses nothing).
    expect(put(s, big, keys(1, 8), AllocFlag.INDEPENDENT).status).toEqual(Array(8).fill(ItemStatus.OK));
    // Another tenant's write evicts (big is over its share now)…
    expect(put(s, o, keys(9, 1)).status).toEqual([ItemStatus.OK]);
    // …and big's next writes evict its own blocks down to its share, never o's.
    expect(put(s, big, keys(2, 2), AllocFlag.INDEPENDENT).status).toEqual([ItemStatus.OK, ItemStatus.OK]);
    expect(s.namespaceSummaries().find((n) => n.name === 'big')?.bytes).toBe(4 * MiB);
    expect(s.lookup(o, keys(9, 1), 'exists')).toBe(1);
    // o may grow into the free half; big stays at its share.
    expect(put(s, o, keys(8, 3), AllocFlag.INDEPENDENT).status).toEqual(Array(3).fill(ItemStatus.OK));
    expect(put(s, big, keys(3, 1)).status).toEqual([ItemStatus.OK]);
    expect(s.namespaceSummaries().find((n) => n.name === 'big')?.bytes).toBe(4 * MiB);
    expect(s.lookup(o, keys(9, 1), 'exists') + s.lookup(o, keys(8, 3), 'exists')).toBe(4);
    // Over its share with every own block leased: QUOTA, other tenants untouched.
    const mine = s.namespaceSummaries().find((n) => n.name === 'big')?.entries ?? 0;
    expect(mine).toBe(4);
    const pinned = new Int32Array(4);
    let got = 0;
    for (const [tag, n] of [[1, 8], [2, 2], [3, 1]] as const) {
      for (let i = 0; i < n; i++) got += s.lookup(big, keys(tag, 1, i), 'lookup', pinned.subarray(got));
    }
    expect(got).toBe(4);
    expect(alloc(s, big, keys(4, 1)).status).toEqual([ItemStatus.QUOTA]);
    checkInvariants(s);
  });

  it('shares capacity between block sizes by moving empty pages', () => {
    const s = new KvShard(shardOptions());
    const big = s.hello('big', '', MiB);
    const small = s.hello('small', '', 256 * 1024);
    put(s, big, keys(1, 8), AllocFlag.INDEPENDENT);
    const r = alloc(s, small, keys(2, 4), 256 * 1024, AllocFlag.INDEPENDENT);
    expect(r.status).toEqual([0, 0, 0, 0]);
    expect(s.lookup(big, keys(1, 8), 'exists')).toBeLessThan(8);
    checkInvariants(s);
  });

  it('holds its invariants under random operations', () => {
    const s = new KvShard(shardOptions({ slabCount: 2, maxEntries: 40 }));
    const spaces = [s.hello('a', '', MiB), s.hello('b', '', 512 * 1024)];
    const pins: number[] = [];
    const writes: number[] = [];
    let seed = 42;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 5000; step++) {
      const ns = spaces[rnd(2)] as Namespace;
      const op = rnd(10);
      const k = keys(rnd(30), 1 + rnd(6));
      if (op < 4) {
        const r = alloc(s, ns, k, 1 + rnd(ns.blockSize));
        for (const id of r.ids) if (id >= 0) writes.push(id);
      } else if (op < 6 && writes.length > 0) {
        const id = writes.splice(rnd(writes.length), 1)[0] as number;
        // As the server does: a SEAL refused with NO_PARENT drops the block.
        if (rnd(4) === 0) s.abort(id, 'dropped');
        else if (s.seal(id) !== ItemStatus.OK) s.abort(id, 'no_parent');
      } else if (op < 8) {
        const p = new Int32Array(k.length / 16);
        const h = s.lookup(ns, k, 'lookup', p);
        for (let i = 0; i < h; i++) pins.push(p[i] as number);
      } else if (pins.length > 0) {
        s.unpin(pins.splice(rnd(pins.length), 1)[0] as number);
      }
      if (step % 100 === 0) checkInvariants(s);
    }
    checkInvariants(s);
  });
});

describe('KvShard chained allocation without room', () => {
  it('gives the rest of a chain the FULL status instead of caching unreachable blocks', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    put(s, ns, keys(1, 6), AllocFlag.INDEPENDENT);
    const pinned = new Int32Array(6);
    s.lookup(ns, keys(1, 6), 'lookup', pinned);
    // Two free slots, then a chain of four: two OK, two FULL (nothing was evicted for them).
    expect(alloc(s, ns, keys(2, 4)).status).toEqual([ItemStatus.OK, ItemStatus.OK, ItemStatus.FULL, ItemStatus.FULL]);
    expect(alloc(s, ns, keys(3, 2), MiB, AllocFlag.INDEPENDENT).status).toEqual([ItemStatus.FULL, ItemStatus.FULL]);
    checkInvariants(s);
  });
});

describe('KvShard parent invariant: every cached block\'s parent is cached', () => {
  it('stops a chain at its first failed item: later items get NO_PARENT, none becomes a root', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    const k = keys(1, 4);
    const n = 4;
    const status = new Uint8Array(n);
    const ids = new Int32Array(n);
    // Item 1 is too long: items 2 and 3 would be cached with no way to reach them.
    s.alloc(ns, { keys: k, lengths: Uint32Array.of(MiB, MiB + 1, MiB, MiB), flags: 0, parent: undefined }, status, ids);
    expect([...status]).toEqual([ItemStatus.OK, ItemStatus.BAD_LENGTH, ItemStatus.NO_PARENT, ItemStatus.NO_PARENT]);
    expect(s.index.size).toBe(1);
    // A repeated key in a chain stops it as well.
    const dup = Buffer.concat([keys(2, 1), keys(2, 1), keys(2, 1, 5)]);
    expect(alloc(s, ns, dup).status).toEqual([ItemStatus.OK, ItemStatus.DUPLICATE, ItemStatus.NO_PARENT]);
    // Independent keys still fail one by one.
    expect(alloc(s, ns, keys(3, 2), 0, AllocFlag.INDEPENDENT).status).toEqual([ItemStatus.BAD_LENGTH, ItemStatus.BAD_LENGTH]);
    checkInvariants(s);
  });

  it('refuses a chain whose PARENT key is not cached', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    expect(alloc(s, ns, keys(1, 2), MiB, 0, keys(9, 1)).status).toEqual([ItemStatus.NO_PARENT, ItemStatus.NO_PARENT]);
    expect(alloc(s, ns, keys(1, 2), MiB, AllocFlag.INDEPENDENT, keys(9, 1)).status).toEqual([ItemStatus.NO_PARENT, ItemStatus.NO_PARENT]);
    expect(s.index.size).toBe(0);
    put(s, ns, keys(9, 1));
    const r = alloc(s, ns, keys(1, 2), MiB, 0, keys(9, 1));
    expect(r.status).toEqual([ItemStatus.OK, ItemStatus.OK]);
    expect(s.index.parent[r.ids[0] as number]).toBe(s.index.find(ns.id, keys(9, 1)));
  });

  it('does not seal a block whose parent was dropped while it was written', () => {
    const s = new KvShard(shardOptions());
    const ns = s.hello('m', '', MiB);
    const r = alloc(s, ns, keys(1, 3));
    s.abort(r.ids[0] as number, 'dropped');
    expect(s.seal(r.ids[1] as number)).toBe(ItemStatus.NO_PARENT);
    s.abort(r.ids[1] as number, 'no_parent');
    expect(s.seal(r.ids[2] as number)).toBe(ItemStatus.NO_PARENT);
    s.abort(r.ids[2] as number, 'no_parent');
    expect(s.index.size).toBe(0);
    expect(s.lookup(ns, keys(1, 3).subarray(16), 'exists')).toBe(0);
    checkInvariants(s);
  });

  it('never evicts a chain\'s parent to make room for its own child', () => {
    // 8 slots; the LRU victim would be block 0, the parent named by the next ALLOC.
    const s = new KvShard(shardOptions({ policy: 'lru' }));
    const ns = s.hello('m', '', MiB);
    for (let i = 0; i < 8; i++) put(s, ns, keys(100 + i, 1));
    const parent = s.index.find(ns.id, keys(100, 1));
    const r = alloc(s, ns, keys(1, 1), MiB, 0, keys(100, 1));
    expect(r.status).toEqual([ItemStatus.OK]);
    expect(s.index.stateOf(parent)).toBe(EntryState.SEALED);
    expect(s.index.parent[r.ids[0] as number]).toBe(parent);
    expect(s.seal(r.ids[0] as number)).toBe(ItemStatus.OK);
    checkInvariants(s);
  });
});
