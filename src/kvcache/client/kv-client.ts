/**
 * TypeScript client of the node KV shard (docs/kv-protocol.md): one connection bound to one
 * namespace by HELLO, pipelined requests, and `put`/`get` helpers that move block bytes through the
 * shared slab files themselves (ALLOC → copy into the slab → SEAL; LOOKUP → copy out → RELEASE).
 * Used by `brixlet kv`, `brixlet mock-engine --kv-socket`, benchmarks and tests; real engines use the
 * Python client, which is the same protocol.
 */
import { BrixletError } from '../../common/errors.js';
import {
  HEADER_BYTES,
  HelloFeature,
  ItemStatus,
  KEY_BYTES,
  LEASE_RECORD_BYTES,
  LookupRemoteFlag,
  Op,
  decodeHelloReply,
  decodeItemStatuses,
  decodeJson,
  decodeLeaseRecords,
  decodeLookupRemoteReply,
  decodeU32,
  encodeAlloc,
  encodeHello,
  encodeKeys,
  encodeLeaseIds,
  encodeLookupRemote,
  type HelloReply,
  type LeaseRecord,
} from '../protocol.js';
import { mapSlabFile } from '../slab.js';
import type { KvNamespaceSummary, KvSummary } from '../types.js';
import { KvConnection } from './connection.js';

export interface KvClientOptions {
  readonly socketPath: string;
  /** Everything that makes KV bytes incompatible, e.g. `llama-3-8b/bf16/tp0-of-2`. */
  readonly namespace: string;
  /** Largest block of the namespace; the first HELLO of a namespace fixes it. */
  readonly blockSize: number;
  /** Layout signature: text (sent as UTF-8) or raw bytes, compared byte for byte. */
  readonly layout?: string | Uint8Array;
  /** Connect timeout and the longest wait for a reply. Default 10 s. */
  readonly timeoutMs?: number;
}

/** STATS reply: the shard summary plus this connection's namespace. */
export interface KvStats extends Omit<KvSummary, 'remote'> {
  /** Absent from shards that predate it. */
  readonly remote?: KvSummary['remote'];
  readonly namespace: KvNamespaceSummary | null;
  /** Set when the summary did not fit the frame limit: `namespaces` and `slabs.files` are then empty. */
  readonly truncated?: true;
}

export interface LookupResult {
  /** Length of the longest cached prefix of the keys. */
  readonly hits: number;
  /** One read lease per hit block; RELEASE them after reading. */
  readonly leases: LeaseRecord[];
  /** How many of the hit blocks the shard fetched from other agents for this call (0 for a plain LOOKUP). */
  readonly remoteHits: number;
}

export interface LookupOptions {
  /**
   * Let the shard fetch the part of the chain its node lacks from other agents of the pool, within
   * this many ms (LOOKUP_REMOTE; 0 = the agent's --kv.remote-budget). Ignored by a shard that does
   * not serve it (a plain LOOKUP is sent).
   */
  readonly remoteBudgetMs?: number;
  /**
   * With `remoteBudgetMs`: fetch every missing block that has a holder, however few
   * (LOOKUP_REMOTE flag FETCH_ALL; the agent's --kv.remote-min-blocks and --kv.remote-min-percent
   * are waived), for callers that know recomputing costs more than the trip. A shard that serves
   * LOOKUP_REMOTE but not its flags is refused (BRX_ERR_KV_PROTOCOL, UNSUPPORTED) rather than
   * having the flag ignored.
   */
  readonly fetchAll?: boolean;
}

export interface AllocOptions {
  /** The sealed block the first key continues. */
  readonly parent?: Uint8Array;
  /** The keys are not a chain. */
  readonly independent?: boolean;
}

/**
 * Slabs mapped by this process, shared by every client: a koffi view can never be unmapped, so a
 * long-lived process that outlives an agent restart keeps the old generation's memory until it
 * exits. That is acceptable for what this client serves: the CLI, tests, benchmarks and the mock
 * engine (a mock engine that outlives many agent restarts keeps each old generation's slabs).
 */
const mappedSlabs = new Map<string, Uint8Array>();

function keyCount(keys: Uint8Array): number {
  if (keys.length % KEY_BYTES !== 0) throw new RangeError(`keys must be n × ${KEY_BYTES} bytes, got ${keys.length}`);
  return keys.length / KEY_BYTES;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class KvClient {
  /** Keys per request in put/get: the shard's batch limit, and small enough for one reply frame. */
  private readonly batch: number;

  private constructor(
    private readonly conn: KvConnection,
    readonly namespace: string,
    /** The block size this client announced (the namespace's, or HELLO would have failed). */
    readonly blockSize: number,
    readonly hello: HelloReply,
  ) {
    const byFrame = Math.floor((hello.maxFrame - HEADER_BYTES - 8 - KEY_BYTES) / LEASE_RECORD_BYTES);
    this.batch = Math.max(1, Math.min(hello.maxBatch, byFrame));
  }

  /** Connects and sends HELLO; the reply names the slab files and limits. */
  static async connect(opts: KvClientOptions): Promise<KvClient> {
    const conn = await KvConnection.open({ socketPath: opts.socketPath, ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) });
    try {
      const body = await conn.request(Op.HELLO, encodeHello({ namespace: opts.namespace, layout: opts.layout ?? '', blockSize: opts.blockSize }));
      return new KvClient(conn, opts.namespace, opts.blockSize, decodeHelloReply(body));
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  get socketPath(): string {
    return this.conn.socketPath;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  /** Whether the shard serves LOOKUP_REMOTE (HELLO features): `lookup(keys, { remoteBudgetMs })` reads remote blocks. */
  get remoteRead(): boolean {
    return ((this.hello.features ?? 0) & HelloFeature.REMOTE_READ) !== 0;
  }

  /** The longest cached prefix, one read lease per block; with `remoteBudgetMs`, the agent may first fetch what its node lacks. */
  async lookup(keys: Buffer, opts: LookupOptions = {}): Promise<LookupResult> {
    keyCount(keys);
    if (opts.remoteBudgetMs !== undefined && this.remoteRead) {
      const fetchAll = opts.fetchAll === true;
      if (fetchAll && ((this.hello.features ?? 0) & HelloFeature.REMOTE_FETCH_ALL) === 0) {
        throw new BrixletError('BRX_ERR_KV_PROTOCOL', { op: 'LOOKUP_REMOTE', status: 'UNSUPPORTED', message: 'this shard predates the FETCH_ALL flag (HELLO features bit 1); upgrade the agent' });
      }
      const body = encodeLookupRemote(keys, opts.remoteBudgetMs, fetchAll ? LookupRemoteFlag.FETCH_ALL : 0);
      const r = decodeLookupRemoteReply(await this.conn.request(Op.LOOKUP_REMOTE, body));
      return { hits: r.records.length, leases: r.records, remoteHits: r.remote };
    }
    const leases = decodeLeaseRecords(await this.conn.request(Op.LOOKUP, encodeKeys(keys)));
    return { hits: leases.length, leases, remoteHits: 0 };
  }

  async exists(keys: Buffer): Promise<number> {
    keyCount(keys);
    return decodeU32(await this.conn.request(Op.EXISTS, encodeKeys(keys)), 'hits');
  }

  /** One lease record per key, in order; `status` says whether it is a write lease (OK). */
  async alloc(keys: Buffer, lengths: ArrayLike<number>, opts: AllocOptions = {}): Promise<LeaseRecord[]> {
    const n = keyCount(keys);
    if (lengths.length !== n) throw new RangeError(`alloc needs one length per key: ${n} keys, ${lengths.length} lengths`);
    const body = encodeAlloc(keys, lengths, {
      ...(opts.parent === undefined ? {} : { parent: asBuffer(opts.parent) }),
      ...(opts.independent === true ? { independent: true } : {}),
    });
    return decodeLeaseRecords(await this.conn.request(Op.ALLOC, body));
  }

  async seal(ids: ArrayLike<number>): Promise<Uint8Array> {
    return decodeItemStatuses(await this.conn.request(Op.SEAL, encodeLeaseIds(ids)));
  }

  async drop(ids: ArrayLike<number>): Promise<Uint8Array> {
    return decodeItemStatuses(await this.conn.request(Op.DROP, encodeLeaseIds(ids)));
  }

  async release(ids: ArrayLike<number>): Promise<Uint8Array> {
    return decodeItemStatuses(await this.conn.request(Op.RELEASE, encodeLeaseIds(ids)));
  }

  async stats(): Promise<KvStats> {
    return decodeJson(await this.conn.request(Op.STATS)) as KvStats;
  }

  async ping(): Promise<void> {
    await this.conn.request(Op.PING);
  }

  /**
   * Writes blocks under their keys: ALLOC, copy into the slabs, SEAL. Returns one item status per
   * key: OK (written), EXISTS (already cached), or why it was not written (BUSY, FULL, QUOTA, …).
   * Without `independent`, the keys are a chain continuing `parent`.
   */
  async put(keys: Buffer, blocks: readonly Uint8Array[], opts: AllocOptions = {}): Promise<Uint8Array> {
    const n = keyCount(keys);
    if (blocks.length !== n) throw new RangeError(`put needs one block per key: ${n} keys, ${blocks.length} blocks`);
    const statuses = new Uint8Array(n);
    for (let start = 0; start < n; start += this.batch) {
      const end = Math.min(n, start + this.batch);
      const parent = start === 0 ? opts.parent : opts.independent === true ? undefined : keys.subarray((start - 1) * KEY_BYTES, start * KEY_BYTES);
      const lengths = blocks.slice(start, end).map((b) => b.length);
      const records = await this.alloc(keys.subarray(start * KEY_BYTES, end * KEY_BYTES), lengths, {
        ...(parent === undefined ? {} : { parent }),
        ...(opts.independent === true ? { independent: true } : {}),
      });
      const writes: number[] = [];
      for (let i = 0; i < records.length; i++) {
        const rec = records[i] as LeaseRecord;
        statuses[start + i] = rec.status;
        if (rec.status === ItemStatus.OK) writes.push(i);
      }
      const ids = writes.map((i) => (records[i] as LeaseRecord).leaseId);
      try {
        for (const i of writes) {
          const rec = records[i] as LeaseRecord;
          const block = blocks[start + i] as Uint8Array;
          if (rec.length !== block.length) throw this.badRecord('ALLOC', `lease ${rec.leaseId} is ${rec.length} bytes for a ${block.length} byte block`);
          this.slabView(rec, 'ALLOC').set(block, rec.offset);
        }
      } catch (err) {
        if (ids.length > 0) await this.drop(ids).catch(() => undefined);
        throw err;
      }
      if (ids.length === 0) continue;
      const sealed = await this.seal(ids);
      for (let j = 0; j < writes.length; j++) {
        const st = sealed[j] ?? ItemStatus.UNKNOWN_LEASE;
        if (st !== ItemStatus.OK) statuses[start + (writes[j] as number)] = st;
      }
    }
    return statuses;
  }

  /** Reads the longest cached prefix of the keys: LOOKUP, copy each block out, RELEASE. */
  async get(keys: Buffer, opts: LookupOptions = {}): Promise<Buffer[]> {
    const n = keyCount(keys);
    const out: Buffer[] = [];
    for (let start = 0; start < n; start += this.batch) {
      const end = Math.min(n, start + this.batch);
      const { hits, leases } = await this.lookup(keys.subarray(start * KEY_BYTES, end * KEY_BYTES), opts);
      try {
        for (const rec of leases) {
          const copy = Buffer.allocUnsafe(rec.length);
          copy.set(this.slabView(rec, 'LOOKUP').subarray(rec.offset, rec.offset + rec.length));
          out.push(copy);
        }
      } finally {
        if (leases.length > 0) await this.release(leases.map((l) => l.leaseId));
      }
      if (hits < end - start) break;
    }
    return out;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private slabView(rec: LeaseRecord, op: string): Uint8Array {
    const path = this.hello.slabs[rec.slab];
    if (path === undefined || rec.offset + rec.length > this.hello.slabSize) {
      throw this.badRecord(op, `lease ${rec.leaseId} points at slab ${rec.slab} [${rec.offset}, +${rec.length}) outside the ${this.hello.slabs.length} announced slabs`);
    }
    let view = mappedSlabs.get(path);
    if (view === undefined || view.length !== this.hello.slabSize) {
      view = mapSlabFile(path, this.hello.slabSize);
      mappedSlabs.set(path, view);
    }
    return view;
  }

  private badRecord(op: string, message: string): BrixletError {
    return new BrixletError('BRX_ERR_KV_PROTOCOL', { op, status: 'BAD_REPLY', message });
  }
}
