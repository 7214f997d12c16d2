/**
 * Contracts of the node KV cache shard: resolved options, the summary shown by STATS and
 * GET /v1/kvcache, and the running service the agent composes.
 */
import type { Disposable } from '../common/lifecycle.js';
import type { EvictionQueue, PolicyName } from './eviction/types.js';
import type { RemoteReadDeps } from './remote-read.js';
import type { RemoteStats } from './remote-stats.js';
import type { KvShard } from './shard.js';

/** Options resolved from the `kv` config section (see options.ts). */
export interface KvShardOptions {
  /** Pool name: `default` for the --kv.* pool, else a --kv.pools entry's name. */
  readonly pool: string;
  readonly dir: string;
  readonly socketPath: string;
  /** Whole slabs only: `slabCount × slabSize`. */
  readonly slabSize: number;
  readonly slabCount: number;
  readonly pageSize: number;
  readonly policy: PolicyName;
  readonly smallRatio: number;
  readonly leaseTtlMs: number;
  readonly maxEntries: number;
  /** Namespace → quota bytes. */
  readonly quotas: ReadonlyMap<string, number>;
  readonly maxConnections: number;
  readonly maxBatch: number;
  readonly maxFrame: number;
  readonly maxLeases: number;
  /** Write leases one connection may hold at once. */
  readonly maxWriteLeases: number;
  /** Slot bytes one connection may hold under write leases at once. */
  readonly maxWritingBytes: number;
  /** A connection that sends no frame for this long while holding no lease is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /**
   * Share of the capacity (0–1) one namespace without an explicit quota may hold while another
   * namespace holds blocks; 1 = no limit. A namespace alone on the shard may use all of it.
   */
  readonly namespaceShare: number;
  readonly maxNamespaces: number;
  readonly prefault: boolean;
  /** The pool's owning group: group of its slab directory, slab files and socket (0750/0660). */
  readonly group: number;
  /** Peers admitted besides root and the agent's own uid (SO_PEERCRED uid). */
  readonly allowUids: readonly number[];
  /** Peers admitted by primary or supplementary gid (default: the owning group). */
  readonly allowGids: readonly number[];
  /** Connections one peer uid may hold at once (at most maxConnections). */
  readonly maxConnectionsPerUid: number;
  /** Namespaces one peer uid may create that hold blocks or connections; 0 = no per-uid limit. */
  readonly maxNamespacesPerUid: number;
}

export interface KvNamespaceSummary {
  readonly name: string;
  readonly blockSize: number;
  readonly layout: string;
  readonly entries: number;
  /** Slot bytes held (sealed + writing). */
  readonly bytes: number;
  readonly quotaBytes: number | null;
  readonly connections: number;
  readonly lookups: number;
  readonly hitBlocks: number;
  readonly requestedBlocks: number;
  /** hitBlocks / requestedBlocks over the shard's lifetime; null before the first lookup. */
  readonly hitRatio: number | null;
}

/** The pool's exchanges with other agents since the agent started (remote-stats.ts). */
export interface KvRemoteSummary {
  /** Engines' remote reads that asked the directory (LOOKUP_REMOTE past the local hit). */
  readonly reads: number;
  /** Blocks (and bytes) those reads fetched from other agents and sealed in this shard. */
  readonly hitBlocks: number;
  readonly hitBytes: number;
  /** Remote reads whose budget ran out before every block arrived. */
  readonly budgetExpired: number;
  /** Blocks (and bytes) this agent's peer server sent to other agents' reads (MGET). */
  readonly servedBlocks: number;
  readonly servedBytes: number;
}

export interface KvSummary {
  readonly enabled: true;
  /** Pool name (`default` for the --kv.* pool). */
  readonly pool: string;
  readonly socket: string;
  readonly dir: string;
  readonly generation: string;
  readonly slabs: { readonly count: number; readonly size: number; readonly files: readonly string[] };
  readonly pageSize: number;
  readonly capacityBytes: number;
  /** Slot bytes in use (sealed + writing). */
  readonly usedBytes: number;
  readonly bytesByState: { readonly free: number; readonly writing: number; readonly sealed: number };
  readonly entries: number;
  readonly maxEntries: number;
  readonly policy: PolicyName;
  readonly evictions: Readonly<Partial<Record<EvictionQueue, number>>>;
  readonly ghostHits: number;
  readonly leases: { readonly read: number; readonly write: number };
  readonly connections: number;
  readonly lookups: number;
  readonly hitBlocks: number;
  readonly requestedBlocks: number;
  readonly hitRatio: number | null;
  readonly namespaces: readonly KvNamespaceSummary[];
  /** Blocks fetched from, and served to, other agents of the pool. */
  readonly remote: KvRemoteSummary;
}

/** The running shard: slabs mapped, index built, socket listening. */
export interface KvService extends Disposable {
  readonly socketPath: string;
  readonly options: KvShardOptions;
  summary(): KvSummary;
  /**
   * Refuses new work with SHUTTING_DOWN while serving SEAL/DROP/RELEASE/PING/STATS; resolves when no
   * lease is held or after `timeoutMs`. The socket stays open until close().
   */
  drain(timeoutMs: number): Promise<void>;
  /** Stops accepting, closes connections (their leases end), unlinks the socket and slab files. */
  close(): Promise<void>;
  /**
   * What the peer server (peer/peer-server.ts) reads remote MGETs from: the shard and a view of each
   * slab (made on the first remote read; a viewed slab stays mapped until the process exits).
   */
  readonly blocks?: { readonly shard: KvShard; slab(index: number): Uint8Array; readonly remote?: RemoteStats };
  /**
   * Gives LOOKUP_REMOTE its remote path (a directory and a transport to the peers); undefined turns it
   * off (the op then answers as LOOKUP).
   */
  readonly enableRemoteRead?: (remote: RemoteReadDeps | undefined) => void;
}
