/** Resolves the `kv` config section into shard options: whole slabs, page multiples, parsed quotas. */
import type { DeepReadonly } from '../common/config/load-config.js';
import { parseSize } from '../common/config/coerce.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import type { KvShardOptions } from './types.js';

const KiB = 1024;
/** Most slab files a shard opens (a lease names its slab with a u32, HELLO lists them with a u16 count). */
export const MAX_SLABS = 65_535;
/** The smallest slot: offsets are page aligned for engines that register the memory with a GPU. */
export const SLOT_ALIGN = 4 * KiB;

function fail(reason: string): never {
  throw new BrixletError('BRX_ERR_KV_CONFIG', { reason });
}

/** `a=8GiB,b=512MiB` → Map; every entry must parse. */
export function parseQuotas(text: string): Map<string, number> {
  const out = new Map<string, number>();
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const size = parseSize(part.slice(eq + 1));
    if (eq <= 0 || name === '' || size === undefined || size <= 0) fail(`--kv.quotas entry "${part}" is not namespace=SIZE (e.g. tenant-a=8GiB)`);
    if (out.has(name)) fail(`--kv.quotas names ${name} twice`);
    out.set(name, size);
  }
  return out;
}

export function kvOptionsFromConfig(kv: DeepReadonly<Config['kv']>): KvShardOptions {
  const { pageSize, capacity } = kv;
  if ((pageSize & (pageSize - 1)) !== 0) fail(`--kv.page-size ${pageSize} is not a power of two`);
  if (kv.slabSize % pageSize !== 0) fail(`--kv.slab-size ${kv.slabSize} is not a multiple of --kv.page-size ${pageSize}`);
  // A capacity below one slab becomes one smaller slab (whole pages).
  const slabSize = capacity < kv.slabSize ? Math.floor(capacity / pageSize) * pageSize : kv.slabSize;
  if (slabSize < pageSize) fail(`--kv.capacity ${capacity} is smaller than one page (--kv.page-size ${pageSize})`);
  const slabCount = Math.floor(capacity / slabSize);
  if (slabCount > MAX_SLABS) fail(`--kv.capacity / --kv.slab-size gives ${slabCount} slabs; at most ${MAX_SLABS}`);
  const maxEntries = kv.maxEntries > 0 ? kv.maxEntries : Math.max(1024, Math.floor((slabCount * slabSize) / (64 * KiB)));
  return {
    dir: kv.dir,
    socketPath: kv.socket,
    slabSize,
    slabCount,
    pageSize,
    policy: kv.policy,
    smallRatio: kv.smallQueuePercent / 100,
    leaseTtlMs: kv.leaseTtl,
    maxEntries,
    quotas: parseQuotas(kv.quotas),
    maxConnections: kv.maxConnections,
    maxBatch: kv.maxBatch,
    maxFrame: kv.maxFrame,
    maxLeases: kv.maxLeases,
    maxWriteLeases: kv.maxWriteLeases,
    // 0 = a quarter of the shard: one connection cannot hold the whole shard in unsealed writes.
    maxWritingBytes: kv.maxWritingBytes > 0 ? kv.maxWritingBytes : Math.floor((slabCount * slabSize) / 4),
    idleTimeoutMs: kv.idleTimeout,
    namespaceShare: kv.namespaceShare / 100,
    maxNamespaces: kv.maxNamespaces,
    prefault: kv.prefault,
  };
}
