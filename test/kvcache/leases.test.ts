import { describe, expect, it } from 'vitest';
import { LeaseTable } from '../../src/kvcache/leases.js';
import { ItemStatus } from '../../src/kvcache/protocol.js';
import { KvShard } from '../../src/kvcache/shard.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';

function setup() {
  const shard = new KvShard(shardOptions());
  const ns = shard.hello('n', '', MiB);
  const status = new Uint8Array(2);
  const ids = new Int32Array(2);
  shard.alloc(ns, { keys: keys(1, 2), lengths: Uint32Array.of(MiB, MiB), flags: 0, parent: undefined }, status, ids);
  expect([...status]).toEqual([ItemStatus.OK, ItemStatus.OK]);
  return { shard, ns, ids };
}

describe('LeaseTable', () => {
  it('issues unique non-zero ids and ends leases by kind', () => {
    const { shard, ids } = setup();
    const t = new LeaseTable(shard, 1000);
    const w0 = t.grant(ids[0] as number, true, 0);
    const w1 = t.grant(ids[1] as number, true, 0);
    expect(w0).not.toBe(0);
    expect(w0).not.toBe(w1);
    expect(t.writeCount).toBe(2);
    expect(t.take(12345, 'any')).toBe(-1);
    const v = t.take(w0, 'write');
    expect(Math.floor(v / 2)).toBe(ids[0]);
    shard.seal(Math.floor(v / 2));
    expect(t.take(w0, 'write')).toBe(-1);
    expect(t.size).toBe(1);
  });

  it('expires in grant order and drops expired writes', () => {
    const { shard, ids } = setup();
    const t = new LeaseTable(shard, 100);
    t.grant(ids[0] as number, true, 0);
    t.grant(ids[1] as number, true, 50);
    expect(t.expire(99)).toBe(0);
    expect(t.expire(100)).toBe(1);
    expect(shard.leases().write).toBe(1);
    expect(t.expire(1000)).toBe(1);
    expect(shard.bytesByState().writing).toBe(0);
    expect(t.size).toBe(0);
  });

  it('clear() unpins reads and drops writes', () => {
    const { shard, ns, ids } = setup();
    shard.seal(ids[0] as number);
    const t = new LeaseTable(shard, 1000);
    const pinned = new Int32Array(1);
    expect(shard.lookup(ns, keys(1, 1), 'lookup', pinned)).toBe(1);
    t.grant(pinned[0] as number, false, 0);
    t.grant(ids[1] as number, true, 0);
    t.clear();
    expect(shard.leases()).toEqual({ read: 0, write: 0 });
    expect(shard.index.refs[pinned[0] as number]).toBe(0);
    expect(shard.bytesByState().writing).toBe(0);
  });
});
