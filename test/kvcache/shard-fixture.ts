// Builds shard options for tests: small slabs, explicit policy.
import { ProtocolError } from '../../src/kvcache/protocol.js';
import type { KvShardOptions } from '../../src/kvcache/types.js';

export const MiB = 1 << 20;

export function shardOptions(over: Partial<KvShardOptions> = {}): KvShardOptions {
  const gid = process.getegid?.() ?? 0;
  return {
    pool: 'default',
    dir: '/nonexistent',
    socketPath: '/nonexistent.sock',
    slabSize: 8 * MiB,
    slabCount: 1,
    pageSize: 1 * MiB,
    policy: 'lru',
    smallRatio: 0.3,
    leaseTtlMs: 30_000,
    maxEntries: 1024,
    quotas: new Map(),
    maxConnections: 16,
    maxBatch: 256,
    maxFrame: 1 << 20,
    maxLeases: 1024,
    maxWriteLeases: 1024,
    maxWritingBytes: 1 << 30,
    idleTimeoutMs: 0,
    namespaceShare: 1,
    maxNamespaces: 4,
    prefault: false,
    group: gid,
    allowUids: [],
    allowGids: [gid],
    maxConnectionsPerUid: 16,
    maxNamespacesPerUid: 0,
    ...over,
  };
}

/** n chained 16-byte keys `tag:i`. */
export function keys(tag: number, n: number, from = 0): Buffer {
  const b = Buffer.alloc(n * 16);
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE(tag, i * 16);
    b.writeUInt32LE(from + i, i * 16 + 4);
  }
  return b;
}

/** The ProtocolError status `fn` throws, or undefined when it does not throw. */
export function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.status;
    throw err;
  }
  return undefined;
}
