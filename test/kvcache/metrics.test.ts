import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/kvcache/eviction/create-policy.js';
import { POLICY_NAMES, type EvictionQueue, type PolicyName } from '../../src/kvcache/eviction/types.js';
import { createKvMetrics, EVICTION_QUEUES, noopKvMetrics, PROTOCOL_ERROR_STATUSES } from '../../src/kvcache/metrics.js';
import { Status } from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import { KvShard } from '../../src/kvcache/shard.js';
import type { KvService } from '../../src/kvcache/types.js';
import { shardOptions } from './shard-fixture.js';
import { Wire } from './wire.js';

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

describe('kv counters of a fixed label set start at 0 when the pool is created', () => {
  const log = pino({ level: 'silent' });
  let root: string;
  const services: KvService[] = [];
  beforeEach(() => {
    root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-metrics-'));
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function start(registry: Registry, pool: string, policy: PolicyName): Promise<KvService> {
    const s = await startKvService(shardOptions({ pool, policy, dir: join(root, pool), socketPath: join(root, `${pool}.sock`) }), { log, registry });
    services.push(s);
    return s;
  }

  /** `pool/label=value → count` of each series of `name` (pool "" for the default pool). */
  async function series(registry: Registry, name: string, label?: string): Promise<string[]> {
    const m = await registry.getSingleMetric(name)?.get();
    return (m?.values ?? []).map((v) => `${String(v.labels.pool ?? '')}${label !== undefined ? `/${String(v.labels[label])}` : ''}=${v.value}`).sort();
  }

  it('a scrape right after start shows each pool its policy queues, ghost hits and protocol error statuses at 0', async () => {
    const registry = new Registry();
    await start(registry, 'default', 's3fifo');
    await start(registry, 'fast', 'lru');
    expect(await series(registry, 'brixlet_kvcache_evictions_total', 'queue')).toEqual(['/main=0', '/small=0', 'fast/lru=0']);
    expect(await series(registry, 'brixlet_kvcache_ghost_hits_total')).toEqual(['=0', 'fast=0']);
    const statuses = PROTOCOL_ERROR_STATUSES.map((s) => `/${s}=0`);
    expect(await series(registry, 'brixlet_kvcache_protocol_errors_total', 'status')).toEqual([...statuses, ...statuses.map((s) => `fast${s}`)].sort());
    expect(PROTOCOL_ERROR_STATUSES).toContain('UNKNOWN_OP');
    expect(PROTOCOL_ERROR_STATUSES).toContain('INTERNAL');
    expect(PROTOCOL_ERROR_STATUSES).not.toContain('OK');
    // The text Prometheus reads: the default pool's series keep their label sets without `pool`.
    const text = await registry.metrics();
    expect(text).toContain('brixlet_kvcache_ghost_hits_total 0\n');
    expect(text).toContain('brixlet_kvcache_evictions_total{queue="small"} 0\n');
  });

  it('an error reply counts on the series that was there at 0', async () => {
    const registry = new Registry();
    const s = await start(registry, 'default', 'arc');
    expect(await series(registry, 'brixlet_kvcache_evictions_total', 'queue')).toEqual(['/main=0', '/small=0']);
    const w = await Wire.open(s.socketPath);
    try {
      expect((await w.call(0x30)).header.status).toBe(Status.UNKNOWN_OP);
    } finally {
      w.close();
    }
    const rows = await series(registry, 'brixlet_kvcache_protocol_errors_total', 'status');
    expect(rows.filter((r) => !r.endsWith('=0'))).toEqual(['/UNKNOWN_OP=1']);
    expect(rows).toHaveLength(PROTOCOL_ERROR_STATUSES.length);
  });

  it.each(POLICY_NAMES)('%s evicts only from the queues its series are started for, and from each of them', (name) => {
    const capacity = 64;
    const policy = createPolicy(name, { capacity });
    const seen = new Set<EvictionQueue>();
    let next = 0;
    const cached: number[] = [];
    // A fixed pseudo-random workload: inserts of new and recently evicted keys, hits on cached ones.
    let x = 12345;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const evicted: number[] = [];
    const free: number[] = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
    const fpOf = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      if (free.length === 0) {
        const id = policy.evict(() => true);
        expect(id).toBeGreaterThanOrEqual(0);
        seen.add(policy.lastQueue);
        cached.splice(cached.indexOf(id), 1);
        evicted.push(fpOf.get(id)!);
        free.push(id);
        continue;
      }
      if (cached.length > 0 && rand(3) === 0) {
        policy.touch(cached[rand(cached.length)]!);
        continue;
      }
      const id = free.pop()!;
      const fp = evicted.length > 0 && rand(4) === 0 ? evicted.splice(rand(evicted.length), 1)[0]! : next++;
      fpOf.set(id, fp);
      policy.insert(id, fp);
      cached.push(id);
    }
    expect([...seen].sort()).toEqual([...EVICTION_QUEUES[name]].sort());
  });
});
