import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createKvMetrics, noopKvMetrics } from '../../src/kvcache/metrics.js';
import { KvShard } from '../../src/kvcache/shard.js';
import { shardOptions } from './shard-fixture.js';

describe('kv metrics', () => {
  it('counts per namespace and reads gauges at scrape time', async () => {
    const registry = new Registry();
    let writing = 0;
    const m = createKvMetrics(registry, {
      bytesByState: () => ({ free: 100 - writing, writing, sealed: 0 }),
      capacityBytes: () => 100,
      entries: () => 3,
      leases: () => ({ read: 2, write: 1 }),
      connections: () => 4,
    });
    const ns = m.namespace('llama/tp0');
    expect(m.namespace('llama/tp0')).toBe(ns);
    ns.lookup('lookup', 8, 5, 800, 500, 2e-5);
    ns.lookup('exists', 2, 0, 200, 0, 1e-6);
    ns.put(64);
    ns.get(32);
    m.eviction('small');
    m.eviction('main');
    m.ghostHit();
    m.droppedWrite('quota', 2);
    m.protocolError('BAD_FRAME');
    writing = 40;
    const text = await registry.metrics();
    expect(text).toContain('brixlet_kvcache_lookups_total{namespace="llama/tp0",op="lookup"} 1');
    expect(text).toContain('brixlet_kvcache_requested_blocks_total{namespace="llama/tp0"} 10');
    expect(text).toContain('brixlet_kvcache_hit_blocks_total{namespace="llama/tp0"} 5');
    expect(text).toContain('brixlet_kvcache_hit_bytes_total{namespace="llama/tp0"} 500');
    expect(text).toContain('brixlet_kvcache_lookup_duration_seconds_count{op="lookup"} 1');
    expect(text).toContain('brixlet_kvcache_put_bytes_total{namespace="llama/tp0"} 64');
    expect(text).toContain('brixlet_kvcache_evictions_total{queue="small"} 1');
    expect(text).toContain('brixlet_kvcache_ghost_hits_total 1');
    expect(text).toContain('brixlet_kvcache_dropped_writes_total{reason="quota"} 2');
    expect(text).toContain('brixlet_kvcache_dropped_writes_total{reason="full"} 0');
    expect(text).toContain('brixlet_kvcache_bytes{state="writing"} 40');
    expect(text).toContain('brixlet_kvcache_leases_active{kind="read"} 2');
    expect(text).toContain('brixlet_kvcache_connections 4');
    expect(text).toContain('brixlet_kvcache_protocol_errors_total{status="BAD_FRAME"} 1');
  });

  it('has a no-op sink', () => {
    expect(() => noopKvMetrics.namespace('x').lookup('lookup', 1, 1, 1, 1, 1)).not.toThrow();
  });
});

describe('kv metrics of namespaces that leave the shard', () => {
  it('a client cycling namespace names leaves only the live namespaces on /metrics', async () => {
    const registry = new Registry();
    const m = createKvMetrics(registry, {
      bytesByState: () => ({ free: 0, writing: 0, sealed: 0 }),
      capacityBytes: () => 0,
      entries: () => 0,
      leases: () => ({ read: 0, write: 0 }),
      connections: () => 0,
    });
    const shard = new KvShard(shardOptions({ maxNamespaces: 2 }), m);
    for (let i = 0; i < 20; i++) {
      const ns = shard.hello(`tenant-${i}`, '', 64 * 1024);
      ns.metrics.lookup('lookup', 1, 0, 1, 0, 1e-6);
      shard.goodbye(ns);
    }
    const names = new Set([...(await registry.metrics()).matchAll(/namespace="([^"]+)"/g)].map((x) => x[1]));
    expect(names.size).toBe(2);
    expect([...names].sort()).toEqual(shard.namespaceSummaries().map((n) => n.name).sort());
    expect(names.has('tenant-19')).toBe(true);
    // A name that comes back counts again from 0.
    const back = shard.hello('tenant-0', '', 64 * 1024);
    back.metrics.put(5);
    expect(await registry.metrics()).toContain('brixlet_kvcache_put_bytes_total{namespace="tenant-0"} 5');
  });
});
