// A LeaseServer on an in-memory shard (no slab files: tests that never touch block bytes), with its
// metrics in a fresh registry, for tests that drive the socket and read what the server counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createKvMetrics } from '../../src/kvcache/metrics.js';
import { type LeaseServerOptions, LeaseServer } from '../../src/kvcache/server.js';
import { KvShard } from '../../src/kvcache/shard.js';
import type { KvShardOptions } from '../../src/kvcache/types.js';
import { MiB, shardOptions } from './shard-fixture.js';

export interface TestLeaseServer {
  readonly server: LeaseServer;
  readonly shard: KvShard;
  readonly path: string;
  /** brixlet_kvcache_connections_closed_total for `reason` (undefined before the first one). */
  closed(reason: string): Promise<number | undefined>;
}

/** Starts the server; `cleanup` receives what closes it and removes its directory. */
export async function startLeaseServer(
  cleanup: (() => Promise<void> | void)[],
  over: Partial<LeaseServerOptions> = {},
  shardOver: Partial<KvShardOptions> = {},
): Promise<TestLeaseServer> {
  const root = mkdtempSync(join(tmpdir(), 'brixlet-kv-server-'));
  const shard = new KvShard(shardOptions({ slabCount: 2, ...shardOver }));
  const registry = new Registry();
  const ref: { server?: LeaseServer } = {};
  const metrics = createKvMetrics(registry, {
    bytesByState: () => shard.bytesByState(),
    capacityBytes: () => shard.allocator.capacityBytes,
    entries: () => shard.index.size,
    leases: () => shard.leases(),
    connections: () => ref.server?.connections ?? 0,
  });
  const path = join(root, 'kv.sock');
  const server = new LeaseServer(
    shard,
    {
      socketPath: path,
      slabPaths: ['/nonexistent/slab-0', '/nonexistent/slab-1'],
      slabSize: 8 * MiB,
      leaseTtlMs: 30_000,
      maxBatch: 256,
      maxFrame: 1 << 20,
      maxLeases: 1024,
      maxWriteLeases: 1024,
      maxWritingBytes: 1 << 30,
      idleTimeoutMs: 0,
      maxConnections: 16,
      summary: () => ({}),
      ...over,
    },
    metrics,
    pino({ level: 'silent' }),
  );
  ref.server = server;
  await server.listen();
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  cleanup.push(() => server.close());
  const closed = async (reason: string) =>
    (await registry.getSingleMetric('brixlet_kvcache_connections_closed_total')?.get())?.values.find((v) => v.labels.reason === reason)?.value;
  return { server, shard, path, closed };
}
