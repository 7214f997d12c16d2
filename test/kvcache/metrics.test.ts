import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createKvMetrics, noopKvMetrics } from '../../src/kvcache/metrics.js';

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
