/** Resolves the `kv` config section into shard options: whole slabs, page multiples, parsed quotas. */
import type { DeepReadonly } from '../common/config/load-config.js';
import { parseSize } from '../common/config/coerce.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import { DEFAULT_POOL_NAME, type IdFiles, SYSTEM_ID_FILES, checkDistinct, createIdResolver, parsePools } from './pools.js';
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

type KvConfig = DeepReadonly<Config['kv']>;

/** What one pool sets itself; everything else comes from the --kv.* flags. */
interface PoolOwn {
  readonly name: string;
  readonly dir: string;
  readonly socket: string;
  readonly capacity: number;
  readonly group: string;
  readonly uids: readonly string[];
  /** undefined = the owning group. */
  readonly gids: readonly string[] | undefined;
}

function list(text: string): string[] {
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** The default pool's options (the --kv.* flags). */
export function kvOptionsFromConfig(kv: KvConfig, idFiles: IdFiles = SYSTEM_ID_FILES): KvShardOptions {
  const gids = list(kv.allowGids);
  const own: PoolOwn = { name: DEFAULT_POOL_NAME, dir: kv.dir, socket: kv.socket, capacity: kv.capacity, group: kv.group, uids: list(kv.allowUids), gids: gids.length > 0 ? gids : undefined };
  return poolOptions(kv, own, idFiles, '--kv');
}

/** Every pool: the default one first, then the --kv.pools entries; names, sockets and dirs distinct. */
export function kvPoolsFromConfig(kv: KvConfig, idFiles: IdFiles = SYSTEM_ID_FILES): KvShardOptions[] {
  const pools = [kvOptionsFromConfig(kv, idFiles)];
  for (const spec of parsePools(kv.pools)) {
    const own: PoolOwn = {
      name: spec.name,
      dir: spec.dir,
      socket: spec.socket,
      capacity: spec.capacity ?? kv.capacity,
      group: spec.group ?? kv.group,
      uids: spec.uids ?? list(kv.allowUids),
      gids: spec.gids,
    };
    pools.push(poolOptions(kv, own, idFiles, `--kv.pools ${spec.name}:`));
  }
  checkDistinct(pools.map((p) => ({ name: p.pool, socketPath: p.socketPath, dir: p.dir })));
  return pools;
}

function poolOptions(kv: KvConfig, own: PoolOwn, idFiles: IdFiles, where: string): KvShardOptions {
  const { pageSize } = kv;
  const { capacity } = own;
  if ((pageSize & (pageSize - 1)) !== 0) fail(`--kv.page-size ${pageSize} is not a power of two`);
  if (kv.slabSize % pageSize !== 0) fail(`--kv.slab-size ${kv.slabSize} is not a multiple of --kv.page-size ${pageSize}`);
  // A capacity below one slab becomes one smaller slab (whole pages).
  const slabSize = capacity < kv.slabSize ? Math.floor(capacity / pageSize) * pageSize : kv.slabSize;
  const cap = where === '--kv' ? '--kv.capacity' : `${where} capacity`;
  if (slabSize < pageSize) fail(`${cap} ${capacity} is smaller than one page (--kv.page-size ${pageSize})`);
  const slabCount = Math.floor(capacity / slabSize);
  if (slabCount > MAX_SLABS) fail(`${cap} / --kv.slab-size gives ${slabCount} slabs; at most ${MAX_SLABS}`);
  const maxEntries = kv.maxEntries > 0 ? kv.maxEntries : Math.max(1024, Math.floor((slabCount * slabSize) / (64 * KiB)));
  const ids = createIdResolver(idFiles);
  const flag = (key: string): string => (where === '--kv' ? `--kv.${key}` : `${where} ${key}`);
  const group = own.group === '' ? (process.getegid?.() ?? 0) : ids.gid(own.group, flag('group'));
  const maxNamespacesPerUid = kv.maxNamespacesPerUid > 0 ? kv.maxNamespacesPerUid : Math.max(1, Math.floor((kv.maxNamespaces * 3) / 4));
  return {
    pool: own.name,
    dir: own.dir,
    socketPath: own.socket,
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
    group,
    allowUids: own.uids.map((u) => ids.uid(u, flag('allow-uids'))),
    allowGids: own.gids === undefined ? [group] : own.gids.map((g) => ids.gid(g, flag('allow-gids'))),
    maxConnectionsPerUid: Math.min(kv.maxConnectionsPerUid, kv.maxConnections),
    maxNamespacesPerUid: Math.min(maxNamespacesPerUid, kv.maxNamespaces),
  };
}
