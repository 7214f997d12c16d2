/**
 * brixlet_kvcache_* metrics. Counters are incremented on the hot path through per-namespace children
 * resolved once; gauges read the shard's state at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EvictionQueue, PolicyName } from './eviction/types.js';
import { Status } from './protocol.js';

export type DropReason = 'full' | 'quota' | 'expired' | 'disconnect' | 'dropped' | 'no_parent';
export type ClosedReason = 'idle' | 'not_allowed' | 'too_many_connections';

/** What the shard reports; the no-op version is used when no registry is given (tests, tools). */
export interface KvMetricsSink {
  /**
   * The counters of namespace `name`, which the shard calls when a HELLO creates the namespace: its
   * series (both `op`s of lookups_total) start at 0 here and stay until forget().
   */
  namespace(name: string): NamespaceMetrics;
  eviction(queue: EvictionQueue): void;
  ghostHit(): void;
  droppedWrite(reason: DropReason, n?: number): void;
  protocolError(status: string): void;
  /**
   * The server closed a connection on its own (not a protocol error): `idle` = no frame for
   * --kv.idle-timeout; `not_allowed` = refused by the pool's allow lists at accept;
   * `too_many_connections` = its uid held --kv.max-connections-per-uid.
   */
  connectionClosed(reason: ClosedReason): void;
  /**
   * One remote read (an engine's LOOKUP_REMOTE that fetched from peers): blocks and bytes that arrived
   * and were sealed locally, the fetch's duration, and whether the request's budget ran out first.
   */
  remoteRead(blocks: number, bytes: number, seconds: number, budgetExpired: boolean): void;
}

export interface NamespaceMetrics {
  lookup(op: 'lookup' | 'exists', requested: number, hits: number, requestedBytes: number, hitBytes: number, seconds: number): void;
  put(bytes: number): void;
  get(bytes: number): void;
  /**
   * The namespace left the shard: its series are removed, so names cycled by a client cannot grow the
   * agent's memory or the scrape without bound (a returning name starts its counters again at 0).
   * At most --kv.max-namespaces namespaces of a pool hold series at once.
   */
  forget(): void;
}

/** Scrape-time readings. */
export interface KvGaugeSource {
  bytesByState(): { free: number; writing: number; sealed: number };
  capacityBytes(): number;
  entries(): number;
  leases(): { read: number; write: number };
  connections(): number;
}

const NOOP_NS: NamespaceMetrics = { lookup() {}, put() {}, get() {}, forget() {} };

export const noopKvMetrics: KvMetricsSink = {
  namespace: () => NOOP_NS,
  eviction() {},
  ghostHit() {},
  droppedWrite() {},
  protocolError() {},
  connectionClosed() {},
  remoteRead() {},
};

const P = 'brixlet_kvcache_';

/** The `queue` label values each policy's evictions carry (its lastQueue values). */
export const EVICTION_QUEUES: Readonly<Record<PolicyName, readonly EvictionQueue[]>> = {
  s3fifo: ['small', 'main'],
  arc: ['small', 'main'],
  lru: ['lru'],
  fifo: ['fifo'],
};

/**
 * The `status` label values of protocol_errors_total: every frame status but OK and the two refusals
 * at accept (NOT_ALLOWED, TOO_MANY_CONNECTIONS), which are counted in connections_closed_total.
 */
export const PROTOCOL_ERROR_STATUSES: readonly string[] = Object.keys(Status).filter((s) => s !== 'OK' && s !== 'NOT_ALLOWED' && s !== 'TOO_MANY_CONNECTIONS');

/**
 * The brixlet_kvcache_* families of one registry, shared by every pool of the agent: the default
 * pool's series carry no `pool` label (the names and label sets it always had), another pool's
 * series carry `pool="<name>"`.
 */
interface KvFamilies {
  readonly sources: Map<string, KvGaugeSource>;
  readonly sink: (pool: string, policy: PolicyName | undefined) => KvMetricsSink;
}

const families = new WeakMap<Registry, KvFamilies>();

/** `{}` for the default pool, `{ pool }` for another one. */
function poolLabel(pool: string): { pool?: string } {
  return pool === DEFAULT_POOL ? {} : { pool };
}

export const DEFAULT_POOL = 'default';

/**
 * The metrics sink of `pool` (default: the default pool) on `registry`; gauges read `source` at scrape
 * time. The pool's counters of a fixed label set start at 0 here, so increase()/rate() count their first
 * event; `policy` names the eviction queues to start (without it no evictions series until the first).
 */
export function createKvMetrics(registry: Registry, source: KvGaugeSource, pool = DEFAULT_POOL, policy?: PolicyName): KvMetricsSink {
  let f = families.get(registry);
  if (f === undefined) {
    f = createFamilies(registry);
    families.set(registry, f);
  }
  f.sources.set(pool, source);
  return f.sink(pool, policy);
}

function createFamilies(registry: Registry): KvFamilies {
  const registers = [registry];
  const sources = new Map<string, KvGaugeSource>();
  /** Every pool's gauge readings, each with its pool label. */
  const each = (fn: (labels: { pool?: string }, s: KvGaugeSource) => void): void => {
    for (const [pool, s] of sources) fn(poolLabel(pool), s);
  };
  const lookups = new Counter({ name: `${P}lookups_total`, help: 'LOOKUP and EXISTS requests served.', labelNames: ['namespace', 'op', 'pool'], registers });
  const requested = new Counter({ name: `${P}requested_blocks_total`, help: 'Blocks asked for by LOOKUP/EXISTS.', labelNames: ['namespace', 'pool'], registers });
  const hits = new Counter({ name: `${P}hit_blocks_total`, help: 'Blocks found (longest sealed prefix) by LOOKUP/EXISTS.', labelNames: ['namespace', 'pool'], registers });
  const requestedBytes = new Counter({ name: `${P}requested_bytes_total`, help: 'Bytes asked for by LOOKUP/EXISTS (blocks × namespace block size).', labelNames: ['namespace', 'pool'], registers });
  const hitBytes = new Counter({ name: `${P}hit_bytes_total`, help: 'Bytes of the blocks found by LOOKUP/EXISTS.', labelNames: ['namespace', 'pool'], registers });
  const latency = new Histogram({
    name: `${P}lookup_duration_seconds`,
    help: 'Time the shard spends on one LOOKUP/EXISTS request (socket time excluded).',
    labelNames: ['op', 'pool'],
    buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3],
    registers,
  });
  const putBytes = new Counter({ name: `${P}put_bytes_total`, help: 'Bytes of blocks sealed (written by engines).', labelNames: ['namespace', 'pool'], registers });
  const getBytes = new Counter({ name: `${P}get_bytes_total`, help: 'Bytes of blocks leased for reading by LOOKUP.', labelNames: ['namespace', 'pool'], registers });
  const evictions = new Counter({ name: `${P}evictions_total`, help: 'Blocks evicted, by the policy queue they left.', labelNames: ['queue', 'pool'], registers });
  const ghostHits = new Counter({ name: `${P}ghost_hits_total`, help: 'S3-FIFO inserts of recently evicted keys (admitted to the main queue).', labelNames: ['pool'], registers });
  const dropped = new Counter({ name: `${P}dropped_writes_total`, help: 'Writes that never became visible, by reason.', labelNames: ['reason', 'pool'], registers });
  const protocolErrors = new Counter({ name: `${P}protocol_errors_total`, help: 'Error replies sent to engines, by status.', labelNames: ['status', 'pool'], registers });
  new Gauge({
    name: `${P}bytes`,
    help: 'Slab bytes by state (slot sizes).',
    labelNames: ['state', 'pool'],
    registers,
    collect() {
      each((l, s) => {
        const b = s.bytesByState();
        this.set({ ...l, state: 'free' }, b.free);
        this.set({ ...l, state: 'writing' }, b.writing);
        this.set({ ...l, state: 'sealed' }, b.sealed);
      });
    },
  });
  new Gauge({ name: `${P}capacity_bytes`, help: 'Slab bytes of the shard.', labelNames: ['pool'], registers, collect() { each((l, s) => this.set(l, s.capacityBytes())); } });
  new Gauge({ name: `${P}entries`, help: 'Blocks in the index (writing + sealed).', labelNames: ['pool'], registers, collect() { each((l, s) => this.set(l, s.entries())); } });
  new Gauge({
    name: `${P}leases_active`,
    help: 'Leases held by engines, by kind.',
    labelNames: ['kind', 'pool'],
    registers,
    collect() {
      each((l, s) => {
        const n = s.leases();
        this.set({ ...l, kind: 'read' }, n.read);
        this.set({ ...l, kind: 'write' }, n.write);
      });
    },
  });
  new Gauge({ name: `${P}connections`, help: 'Engine connections open on the socket.', labelNames: ['pool'], registers, collect() { each((l, s) => this.set(l, s.connections())); } });
  const remoteBlocks = new Counter({ name: `${P}remote_hit_blocks_total`, help: 'Blocks an engine\'s one-call remote read fetched from other agents and sealed in this shard.', labelNames: ['pool'], registers });
  const remoteBytes = new Counter({ name: `${P}remote_hit_bytes_total`, help: 'Bytes of the blocks fetched from other agents by remote reads.', labelNames: ['pool'], registers });
  const remoteSeconds = new Histogram({
    name: `${P}remote_fetch_duration_seconds`,
    help: 'Time from the directory question to the last block of one remote read (bounded by the request\'s budget).',
    labelNames: ['pool'],
    buckets: [5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.25, 1],
    registers,
  });
  const remoteExpired = new Counter({ name: `${P}remote_budget_expired_total`, help: 'Remote reads whose time budget ran out before every block arrived (answered with what had arrived).', labelNames: ['pool'], registers });
  const closedConns = new Counter({ name: `${P}connections_closed_total`, help: 'Connections the server closed on its own, by reason (idle: no frame for --kv.idle-timeout while holding no lease; not_allowed: refused by the pool\'s allowed uids/gids; too_many_connections: --kv.max-connections-per-uid).', labelNames: ['reason', 'pool'], registers });

  const sink = (pool: string, policy: PolicyName | undefined): KvMetricsSink => {
    const pl = poolLabel(pool);
    for (const queue of policy === undefined ? [] : EVICTION_QUEUES[policy]) evictions.inc({ ...pl, queue }, 0);
    ghostHits.inc(pl, 0);
    for (const status of PROTOCOL_ERROR_STATUSES) protocolErrors.inc({ ...pl, status }, 0);
    for (const reason of ['idle', 'not_allowed', 'too_many_connections'] as const) closedConns.inc({ ...pl, reason }, 0);
    for (const reason of ['full', 'quota', 'expired', 'disconnect', 'dropped', 'no_parent'] as const) dropped.inc({ ...pl, reason }, 0);
    for (const c of [remoteBlocks, remoteBytes, remoteExpired]) c.inc(pl, 0);
    const latLookup = latency.labels({ ...pl, op: 'lookup' });
    const latExists = latency.labels({ ...pl, op: 'exists' });
    const perNs = new Map<string, NamespaceMetrics>();
    return {
      namespace(name) {
        let m = perNs.get(name);
        if (m === undefined) {
          const ns = { ...pl, namespace: name };
          const l = { lookup: lookups.labels({ ...ns, op: 'lookup' }), exists: lookups.labels({ ...ns, op: 'exists' }) };
          const rq = requested.labels(ns);
          const h = hits.labels(ns);
          const rqb = requestedBytes.labels(ns);
          const hb = hitBytes.labels(ns);
          const pb = putBytes.labels(ns);
          const gb = getBytes.labels(ns);
          // Every series the namespace's events will move starts at 0 now, so increase()/rate() count
          // its first event (a series that appears at 1 has no earlier sample to count from).
          for (const c of [l.lookup, l.exists, rq, h, rqb, hb, pb, gb]) c.inc(0);
          m = {
            lookup(op, n, hit, nBytes, hitB, seconds) {
              l[op].inc();
              rq.inc(n);
              h.inc(hit);
              rqb.inc(nBytes);
              hb.inc(hitB);
              (op === 'lookup' ? latLookup : latExists).observe(seconds);
            },
            put: (bytes) => pb.inc(bytes),
            get: (bytes) => gb.inc(bytes),
            forget() {
              if (perNs.get(name) !== m) return;
              perNs.delete(name);
              lookups.remove({ ...ns, op: 'lookup' });
              lookups.remove({ ...ns, op: 'exists' });
              for (const c of [requested, hits, requestedBytes, hitBytes, putBytes, getBytes]) c.remove(ns);
            },
          };
          perNs.set(name, m);
        }
        return m;
      },
      eviction: (queue) => evictions.inc({ ...pl, queue }),
      ghostHit: () => ghostHits.inc(pl),
      droppedWrite: (reason, n = 1) => dropped.inc({ ...pl, reason }, n),
      protocolError: (status) => protocolErrors.inc({ ...pl, status }),
      connectionClosed: (reason) => closedConns.inc({ ...pl, reason }),
      remoteRead(blocks, bytes, seconds, budgetExpired) {
        remoteBlocks.inc(pl, blocks);
        remoteBytes.inc(pl, bytes);
        remoteSeconds.observe(pl, seconds);
        if (budgetExpired) remoteExpired.inc(pl);
      },
    };
  };
  return { sources, sink };
}
