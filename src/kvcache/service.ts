/**
 * Starts the node KV cache shard: slab files (created, pre-allocated, mapped), index and policy, the
 * lease server on the unix socket, and the brixlet_kvcache_* metrics. `close()` undoes all of it.
 */
import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { BrixletError, isBrixletError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { agentUid, ensureSafeDir, ownedProblem, unlinkOwned } from '../common/safe-fs.js';
import { createKvMetrics, noopKvMetrics } from './metrics.js';
import { RemoteReader } from './remote-read.js';
import { RemoteStats } from './remote-stats.js';
import { LeaseServer } from './server.js';
import { KvShard } from './shard.js';
import { openSlabSet, type SlabSet } from './slab.js';
import type { KvService, KvShardOptions, KvSummary } from './types.js';

/** The configured default; only this path falls back to a per-user directory when it cannot be created. */
export const DEFAULT_KV_SOCKET = '/run/brixlet/kv.sock';

export interface KvServiceDeps {
  readonly log: Logger;
  /** Where brixlet_kvcache_* are registered (the agent's app registry); none = no metrics. */
  readonly registry?: Registry;
}

function errnoOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
}

/**
 * Creates the socket's directory (or checks the one there: a real directory the agent or root owns,
 * not writable by group or others); the default path falls back to <tmpdir>/brixlet-<uid>/kv.sock.
 * The directory may stay 0755: the socket in it is 0660 with the pool's group (connect(2) needs write
 * permission on it) and every peer is checked by SO_PEERCRED, and the default /run/brixlet also holds
 * the fault rule file that interposed processes of any user read. The slab directory is the strict one.
 */
export function prepareSocketPath(path: string, log: Logger): string {
  try {
    ensureSafeDir(dirname(path), 0o755, 'BRX_ERR_KV_UNSAFE_PATH');
    return path;
  } catch (err) {
    if (isBrixletError(err)) throw err;
    const code = errnoOf(err);
    if (path !== DEFAULT_KV_SOCKET || (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM')) {
      throw new BrixletError('BRX_ERR_KV_INIT', { path, reason: `cannot create ${dirname(path)}: ${code}` }, { cause: err });
    }
    const fallback = join(tmpdir(), `brixlet-${userInfo().uid}`, 'kv.sock');
    // A /tmp/brixlet-<uid> another user made first is refused, not used.
    ensureSafeDir(dirname(fallback), 0o700, 'BRX_ERR_KV_UNSAFE_PATH');
    log.warn({ socket: fallback, wanted: path, reason: code }, 'KV socket directory not writable; using a per-user socket (set --kv.socket to choose)');
    return fallback;
  }
}

/**
 * A socket file left by a dead agent is removed; one that answers belongs to a live agent. Anything
 * else at the path (a regular file, a symlink, another user's socket) is refused and left alone.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw new BrixletError('BRX_ERR_KV_INIT', { path, reason: `lstat: ${errnoOf(err)}` }, { cause: err });
  }
  // Not a socket at all: refused before anything connects to it.
  if (!isSocket) throw new BrixletError('BRX_ERR_KV_UNSAFE_PATH', { path, problem: ownedProblem(path, 'socket') ?? 'it is not a socket' });
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new BrixletError('BRX_ERR_KV_IN_USE', { path, pid: 'unknown' });
  const refused = unlinkOwned(path, 'socket');
  if (refused !== undefined) throw new BrixletError('BRX_ERR_KV_UNSAFE_PATH', { path, problem: refused });
}

export async function startKvService(options: KvShardOptions, deps: KvServiceDeps): Promise<KvService> {
  const log = deps.log.child({ component: 'kvcache', pool: options.pool });
  // A socket inside the slab directory: the directory is made the strict way first (0750, the pool's
  // group), or the socket's 0755 mkdir would leave a directory the slab check then refuses.
  if (resolve(dirname(options.socketPath)) === resolve(options.dir)) {
    ensureSafeDir(options.dir, 0o750, 'BRX_ERR_KV_UNSAFE_PATH', { group: options.group, strict: true });
  }
  const socketPath = prepareSocketPath(options.socketPath, log);
  await clearStaleSocket(socketPath);
  let slabs: SlabSet | undefined;
  let server: LeaseServer | undefined;
  try {
    slabs = openSlabSet({ dir: options.dir, slabSize: options.slabSize, count: options.slabCount, prefault: options.prefault, group: options.group, log });
    const set = slabs;
    // The metrics read the shard and server at scrape time; both exist before the first scrape.
    const ref: { shard?: KvShard; srv?: LeaseServer } = {};
    const live = (): KvShard => ref.shard as KvShard;
    const remote = new RemoteStats();
    const summary = (): KvSummary => summarize(options, socketPath, set, live(), ref.srv?.connections ?? 0, remote);
    const metrics =
      deps.registry === undefined
        ? noopKvMetrics
        : createKvMetrics(deps.registry, {
            bytesByState: () => live().bytesByState(),
            capacityBytes: () => live().allocator.capacityBytes,
            entries: () => live().index.size,
            leases: () => live().leases(),
            connections: () => ref.srv?.connections ?? 0,
          }, options.pool, options.policy);
    const shard = new KvShard(options, metrics);
    ref.shard = shard;
    const srv = new LeaseServer(
      shard,
      {
        socketPath,
        slabPaths: set.paths,
        slabSize: options.slabSize,
        leaseTtlMs: options.leaseTtlMs,
        maxBatch: options.maxBatch,
        maxFrame: options.maxFrame,
        maxLeases: options.maxLeases,
        maxWriteLeases: options.maxWriteLeases,
        maxWritingBytes: options.maxWritingBytes,
        idleTimeoutMs: options.idleTimeoutMs,
        maxConnections: options.maxConnections,
        summary,
        access: { agentUid: agentUid(), allowUids: options.allowUids, allowGids: options.allowGids },
        maxConnectionsPerUid: options.maxConnectionsPerUid,
        socketGroup: options.group,
      },
      metrics,
      log,
    );
    ref.srv = srv;
    server = srv;
    await srv.listen().catch((err: unknown) => {
      throw new BrixletError('BRX_ERR_KV_INIT', { path: socketPath, reason: `cannot listen: ${errnoOf(err)}` }, { cause: err });
    });
    log.info(
      { socket: socketPath, dir: options.dir, group: options.group, allowUids: options.allowUids, allowGids: options.allowGids, slabs: options.slabCount, slabSize: options.slabSize, policy: options.policy, maxEntries: options.maxEntries },
      'KV cache shard listening',
    );
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        await srv.close();
        set.close();
        try {
          // Only our own socket: a file put at the path since is left, with a warning.
          const problem = unlinkOwned(socketPath, 'socket');
          if (problem !== undefined) log.warn({ path: socketPath, problem }, 'left the KV socket path alone');
        } catch {
          /* already gone */
        }
      })());
    const drain = (timeoutMs: number): Promise<void> => srv.drain(timeoutMs);
    const blocks = { shard, slab: (i: number): Uint8Array => set.view(i), remote };
    const enableRemoteRead: KvService['enableRemoteRead'] = (deps) => srv.setRemoteReader(deps === undefined ? undefined : new RemoteReader(shard, blocks.slab, deps, metrics, remote));
    const service: KvService = { socketPath, options, summary, drain, close, dispose: close, name: `kv shard ${socketPath}`, blocks, enableRemoteRead };
    return service;
  } catch (err) {
    await server?.close().catch(() => {});
    slabs?.close();
    if (isBrixletError(err)) throw err;
    throw new BrixletError('BRX_ERR_KV_INIT', { path: options.dir, reason: errnoOf(err) }, { cause: err });
  }
}

function summarize(options: KvShardOptions, socket: string, slabs: SlabSet, shard: KvShard, connections: number, remote: RemoteStats): KvSummary {
  const namespaces = shard.namespaceSummaries();
  let lookups = 0;
  let hitBlocks = 0;
  let requestedBlocks = 0;
  for (const ns of namespaces) {
    lookups += ns.lookups;
    hitBlocks += ns.hitBlocks;
    requestedBlocks += ns.requestedBlocks;
  }
  const counters = shard.policy.counters();
  const bytes = shard.bytesByState();
  return {
    enabled: true,
    pool: options.pool,
    socket,
    dir: options.dir,
    generation: slabs.generation,
    slabs: { count: slabs.paths.length, size: options.slabSize, files: slabs.paths },
    pageSize: options.pageSize,
    capacityBytes: shard.allocator.capacityBytes,
    usedBytes: bytes.writing + bytes.sealed,
    bytesByState: bytes,
    entries: shard.index.size,
    maxEntries: options.maxEntries,
    policy: options.policy,
    evictions: counters.evictions,
    ghostHits: counters.ghostHits,
    leases: shard.leases(),
    connections,
    lookups,
    hitBlocks,
    requestedBlocks,
    hitRatio: requestedBlocks === 0 ? null : hitBlocks / requestedBlocks,
    namespaces,
    remote: remote.snapshot(),
  };
}
