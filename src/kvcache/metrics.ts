/**
 * brixlet_kvcache_* metrics. Counters are incremented on the hot path through per-namespace children
 * resolved once; gauges read the shard's state at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EvictionQueue } from './eviction/types.js';

export type DropReason = 'full' | 'quota' | 'expired' | 'disconnect' | 'dropped' | 'no_parent';

/** What the shard reports; the no-op version is used when no registry is given (tests, tools). */
export interface KvMetricsSink {
  namespace(name: string): NamespaceMetrics;
  eviction(queue: EvictionQueue): void;
  ghostHit(): void;
  droppedWrite(reason: DropReason, n?: number): void;
  protocolError(status: string): void;
  /** The server closed a connection on its own (not a protocol error): `idle` = no frame for --kv.idle-timeout. */
  connectionClosed(reason: 'idle'): void;
}

export interface NamespaceMetrics {
  lookup(op: 'lookup' | 'exists', requested: number, hits: number, requestedBytes: number, hitBytes: number, seconds: number): void;
  put(bytes: number): void;
  get(bytes: number): void;
}

/** Scrape-time readings. */
export interface KvGaugeSource {
  bytesByState(): { free: number; writing: number; sealed: number };
  capacityBytes(): number;
  entries(): number;
  leases(): { read: number; write: number };
  connections(): number;
}

const NOOP_NS: NamespaceMetrics = { lookup() {}, put() {}, get() {} };

export const noopKvMetrics: KvMetricsSink = {
  namespace: () => NOOP_NS,
  eviction() {},
  ghostHit() {},
  droppedWrite() {},
  protocolError() {},
  connectionClosed() {},
};

const P = 'brixlet_kvcache_';

export function createKvMetrics(registry: Registry, source: KvGaugeSource): KvMetricsSink {
  const registers = [registry];
  const lookups = new Counter({ name: `${P}lookups_total`, help: 'LOOKUP and EXISTS requests served.', labelNames: ['namespace', 'op'], registers });
  const requested = new Counter({ name: `${P}requested_blocks_total`, help: 'Blocks asked for by LOOKUP/EXISTS.', labelNames: ['namespace'], registers });
  const hits = new Counter({ name: `${P}hit_blocks_total`, help: 'Blocks found (longest sealed prefix) by LOOKUP/EXISTS.', labelNames: ['namespace'], registers });
  const requestedBytes = new Counter({ name: `${P}requested_bytes_total`, help: 'Bytes asked for by LOOKUP/EXISTS (blocks × namespace block size).', labelNames: ['namespace'], registers });
  const hitBytes = new Counter({ name: `${P}hit_bytes_total`, help: 'Bytes of the blocks found by LOOKUP/EXISTS.', labelNames: ['namespace'], registers });
  const latency = new Histogram({
    name: `${P}lookup_duration_seconds`,
    help: 'Time the shard spends on one LOOKUP/EXISTS request (socket time excluded).',
    labelNames: ['op'],
    buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3],
    registers,
  });
  const putBytes = new Counter({ name: `${P}put_bytes_total`, help: 'Bytes of blocks sealed (written by engines).', labelNames: ['namespace'], registers });
  const getBytes = new Counter({ name: `${P}get_bytes_total`, help: 'Bytes of blocks leased for reading by LOOKUP.', labelNames: ['namespace'], registers });
  const evictions = new Counter({ name: `${P}evictions_total`, help: 'Blocks evicted, by the policy queue they left.', labelNames: ['queue'], registers });
  const ghostHits = new Counter({ name: `${P}ghost_hits_total`, help: 'S3-FIFO inserts of recently evicted keys (admitted to the main queue).', registers });
  const dropped = new Counter({ name: `${P}dropped_writes_total`, help: 'Writes that never became visible, by reason.', labelNames: ['reason'], registers });
  const protocolErrors = new Counter({ name: `${P}protocol_errors_total`, help: 'Error replies sent to engines, by status.', labelNames: ['status'], registers });
  new Gauge({
    name: `${P}bytes`,
    help: 'Slab bytes by state (slot sizes).',
    labelNames: ['state'],
    registers,
    collect() {
      const b = source.bytesByState();
      this.set({ state: 'free' }, b.free);
      this.set({ state: 'writing' }, b.writing);
      this.set({ state: 'sealed' }, b.sealed);
    },
  });
  new Gauge({ name: `${P}capacity_bytes`, help: 'Slab bytes of the shard.', registers, collect() { this.set(source.capacityBytes()); } });
  new Gauge({ name: `${P}entries`, help: 'Blocks in the index (writing + sealed).', registers, collect() { this.set(source.entries()); } });
  new Gauge({
    name: `${P}leases_active`,
    help: 'Leases held by engines, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      const l = source.leases();
      this.set({ kind: 'read' }, l.read);
      this.set({ kind: 'write' }, l.write);
    },
  });
  new Gauge({ name: `${P}connections`, help: 'Engine connections open on the socket.', registers, collect() { this.set(source.connections()); } });
  const closedConns = new Counter({ name: `${P}connections_closed_total`, help: 'Connections the server closed on its own, by reason (idle: no frame for --kv.idle-timeout while holding no lease).', labelNames: ['reason'], registers });
  closedConns.inc({ reason: 'idle' }, 0);
  for (const reason of ['full', 'quota', 'expired', 'disconnect', 'dropped', 'no_parent'] as const) dropped.inc({ reason }, 0);
  const latLookup = latency.labels('lookup');
  const latExists = latency.labels('exists');

  const perNs = new Map<string, NamespaceMetrics>();
  return {
    namespace(name) {
      let m = perNs.get(name);
      if (m === undefined) {
        const l = { lookup: lookups.labels(name, 'lookup'), exists: lookups.labels(name, 'exists') };
        const rq = requested.labels(name);
        const h = hits.labels(name);
        const rqb = requestedBytes.labels(name);
        const hb = hitBytes.labels(name);
        const pb = putBytes.labels(name);
        const gb = getBytes.labels(name);
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
        };
        perNs.set(name, m);
      }
      return m;
    },
    eviction: (queue) => evictions.inc({ queue }),
    ghostHit: () => ghostHits.inc(),
    droppedWrite: (reason, n = 1) => dropped.inc({ reason }, n),
    protocolError: (status) => protocolErrors.inc({ status }),
    connectionClosed: (reason) => closedConns.inc({ reason }),
  };
}
