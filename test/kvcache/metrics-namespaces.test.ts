// Per-namespace kv counters through the real service and client: a namespace's series exist at 0 from
// the HELLO that creates it (so increase()/rate() count its first event), events move those same
// series, and a namespace that leaves the shard takes its series with it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService, KvShardOptions } from '../../src/kvcache/types.js';
import { ItemStatus } from '../../src/kvcache/protocol.js';
import { keys, shardOptions } from './shard-fixture.js';

const KiB = 1024;
const BLOCK = 64 * KiB;
const log = pino({ level: 'silent' });

/** The counters that carry a `namespace` label. */
const NS_COUNTERS = [
  'brixlet_kvcache_lookups_total',
  'brixlet_kvcache_requested_blocks_total',
  'brixlet_kvcache_hit_blocks_total',
  'brixlet_kvcache_requested_bytes_total',
  'brixlet_kvcache_hit_bytes_total',
  'brixlet_kvcache_put_bytes_total',
  'brixlet_kvcache_get_bytes_total',
];

let root: string;
const services: KvService[] = [];
const clients: KvClient[] = [];

beforeEach(() => {
  root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-ns-metrics-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of services.splice(0)) await s.close();
  rmSync(root, { recursive: true, force: true });
});

async function start(registry: Registry, over: Partial<KvShardOptions> = {}): Promise<KvService> {
  const pool = over.pool ?? 'default';
  const s = await startKvService(shardOptions({ dir: join(root, pool), socketPath: join(root, `${pool}.sock`), ...over }), { log, registry });
  services.push(s);
  return s;
}

async function connect(s: KvService, namespace: string): Promise<KvClient> {
  const c = await KvClient.connect({ socketPath: s.socketPath, namespace, blockSize: BLOCK });
  clients.push(c);
  return c;
}

async function close(c: KvClient): Promise<void> {
  clients.splice(clients.indexOf(c), 1);
  await c.close();
}

/** Polls (generous timeout, only to catch a hang) until the shard saw every connection of `name` go. */
async function idle(s: KvService, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (s.summary().namespaces.find((n) => n.name === name)?.connections !== 0) {
    if (Date.now() > deadline) throw new Error(`namespace ${name} still has connections`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `family{label=value,…}=count` of every series with a namespace label (labels sorted). */
async function nsSeries(registry: Registry, namespace?: string): Promise<string[]> {
  const rows: string[] = [];
  for (const name of NS_COUNTERS) {
    const m = await registry.getSingleMetric(name)?.get();
    for (const v of m?.values ?? []) {
      if (v.labels.namespace === undefined || (namespace !== undefined && v.labels.namespace !== namespace)) continue;
      const labels = Object.entries(v.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `${k}=${String(x)}`);
      rows.push(`${name}{${labels.join(',')}}=${v.value}`);
    }
  }
  return rows.sort();
}

/** The label sets of `rows` without their values. */
const labelSets = (rows: readonly string[]): string[] => rows.map((r) => r.slice(0, r.lastIndexOf('=')));

function blocks(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(BLOCK).fill(i + 1));
}

describe('per-namespace kv counters start at 0 when a HELLO creates the namespace', () => {
  it('a scrape right after the HELLO shows every series of the namespace at 0, both ops of lookups', async () => {
    const registry = new Registry();
    const s = await start(registry);
    expect(await nsSeries(registry)).toEqual([]);
    await connect(s, 'tenant-a');
    expect(await nsSeries(registry)).toEqual([
      'brixlet_kvcache_get_bytes_total{namespace=tenant-a}=0',
      'brixlet_kvcache_hit_blocks_total{namespace=tenant-a}=0',
      'brixlet_kvcache_hit_bytes_total{namespace=tenant-a}=0',
      'brixlet_kvcache_lookups_total{namespace=tenant-a,op=exists}=0',
      'brixlet_kvcache_lookups_total{namespace=tenant-a,op=lookup}=0',
      'brixlet_kvcache_put_bytes_total{namespace=tenant-a}=0',
      'brixlet_kvcache_requested_blocks_total{namespace=tenant-a}=0',
      'brixlet_kvcache_requested_bytes_total{namespace=tenant-a}=0',
    ]);
    // The text Prometheus reads: the default pool's series carry no `pool` label.
    const text = await registry.metrics();
    expect(text).toContain('brixlet_kvcache_lookups_total{namespace="tenant-a",op="exists"} 0\n');
    expect(text).toContain('brixlet_kvcache_put_bytes_total{namespace="tenant-a"} 0\n');
    // A second connection to the namespace creates nothing new.
    await connect(s, 'tenant-a');
    expect(await nsSeries(registry)).toHaveLength(NS_COUNTERS.length + 1);
  });

  it('another pool\'s namespace starts its series with that pool\'s label, and only in that pool', async () => {
    const registry = new Registry();
    await start(registry);
    const fast = await start(registry, { pool: 'fast' });
    await connect(fast, 'tenant-b');
    const rows = await nsSeries(registry);
    expect(rows).toHaveLength(NS_COUNTERS.length + 1);
    expect(rows.every((r) => r.includes('{namespace=tenant-b,') && r.includes('pool=fast') && r.endsWith('=0'))).toBe(true);
    expect(await registry.metrics()).toContain('brixlet_kvcache_lookups_total{pool="fast",namespace="tenant-b",op="lookup"} 0\n');
  });

  it('events move the series that were there at 0 and add none', async () => {
    const registry = new Registry();
    const s = await start(registry);
    const c = await connect(s, 'tenant-a');
    const before = await nsSeries(registry);
    const k = keys(7, 5);
    expect([...(await c.put(k.subarray(0, 3 * 16), blocks(3)))]).toEqual([ItemStatus.OK, ItemStatus.OK, ItemStatus.OK]);
    expect(await c.get(k)).toHaveLength(3);
    expect(await c.exists(k)).toBe(3);
    const after = await nsSeries(registry);
    expect(labelSets(after)).toEqual(labelSets(before));
    expect(after).toEqual([
      `brixlet_kvcache_get_bytes_total{namespace=tenant-a}=${3 * BLOCK}`,
      'brixlet_kvcache_hit_blocks_total{namespace=tenant-a}=6',
      `brixlet_kvcache_hit_bytes_total{namespace=tenant-a}=${6 * BLOCK}`,
      'brixlet_kvcache_lookups_total{namespace=tenant-a,op=exists}=1',
      'brixlet_kvcache_lookups_total{namespace=tenant-a,op=lookup}=1',
      `brixlet_kvcache_put_bytes_total{namespace=tenant-a}=${3 * BLOCK}`,
      'brixlet_kvcache_requested_blocks_total{namespace=tenant-a}=10',
      `brixlet_kvcache_requested_bytes_total{namespace=tenant-a}=${10 * BLOCK}`,
    ]);
    // The same totals the shard keeps for GET /v1/kvcache.
    const summary = s.summary().namespaces.find((n) => n.name === 'tenant-a');
    expect(summary).toMatchObject({ lookups: 2, hitBlocks: 6, requestedBlocks: 10 });
  });
});

describe('a namespace that leaves the shard takes its series with it', () => {
  it('an idle empty namespace reclaimed for a new one: its series are gone, the new one\'s are at 0', async () => {
    const registry = new Registry();
    const s = await start(registry, { maxNamespaces: 2 });
    const a = await connect(s, 'gone');
    await connect(s, 'kept');
    await close(a);
    await idle(s, 'gone');
    // Idle but still in the shard: its series stay until a new namespace needs its place.
    expect(await nsSeries(registry, 'gone')).toHaveLength(NS_COUNTERS.length + 1);
    await connect(s, 'new');
    expect(s.summary().namespaces.map((n) => n.name).sort()).toEqual(['kept', 'new']);
    expect(await nsSeries(registry, 'gone')).toEqual([]);
    expect(await registry.metrics()).not.toContain('namespace="gone"');
    const fresh = await nsSeries(registry, 'new');
    expect(fresh).toHaveLength(NS_COUNTERS.length + 1);
    expect(fresh.every((r) => r.endsWith('=0'))).toBe(true);
    expect(await nsSeries(registry, 'kept')).toHaveLength(NS_COUNTERS.length + 1);
  });

  it('an idle namespace holding a little is wiped for a new one: its counted series are gone', async () => {
    const registry = new Registry();
    const s = await start(registry, { maxNamespaces: 2 });
    const a = await connect(s, 'wiped');
    expect([...(await a.put(keys(1, 1), blocks(1)))]).toEqual([ItemStatus.OK]);
    await connect(s, 'kept');
    await close(a);
    await idle(s, 'wiped');
    expect(await nsSeries(registry, 'wiped')).toContain(`brixlet_kvcache_put_bytes_total{namespace=wiped}=${BLOCK}`);
    const n = await connect(s, 'new');
    expect(s.summary().namespaces.map((x) => x.name).sort()).toEqual(['kept', 'new']);
    expect(await nsSeries(registry, 'wiped')).toEqual([]);
    // A name that comes back (taking the place of `new`, now idle) starts again at 0.
    await close(n);
    await idle(s, 'new');
    await connect(s, 'wiped');
    expect(await nsSeries(registry, 'new')).toEqual([]);
    const back = await nsSeries(registry, 'wiped');
    expect(back).toHaveLength(NS_COUNTERS.length + 1);
    expect(back.every((r) => r.endsWith('=0'))).toBe(true);
  });

  it('names cycled through the shard leave at most --kv.max-namespaces namespaces of series', async () => {
    const registry = new Registry();
    const maxNamespaces = 3;
    const s = await start(registry, { maxNamespaces });
    for (let i = 0; i < 12; i++) {
      const c = await connect(s, `cycle-${i}`);
      await c.exists(keys(i, 1));
      await close(c);
      await idle(s, `cycle-${i}`);
    }
    const rows = await nsSeries(registry);
    const live = s.summary().namespaces.map((n) => n.name).sort();
    expect(live).toHaveLength(maxNamespaces);
    expect(rows).toHaveLength(maxNamespaces * (NS_COUNTERS.length + 1));
    expect([...new Set(rows.map((r) => /namespace=([^,}]+)/.exec(r)?.[1]))].sort()).toEqual(live);
  });
});
