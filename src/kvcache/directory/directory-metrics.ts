/**
 * brixlet_kvcache_directory_* and _publish_deltas_total: the pool directory on each agent (one family
 * set per registry, every pool's series in it; the default pool's carry no `pool` label, as the
 * shard's do). A sink with no registry counts nothing.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DEFAULT_POOL } from '../metrics.js';

/** hit: at least one key has a holder; miss: none has; error: the home did not answer in time. */
export type DirectoryLookupResult = 'hit' | 'miss' | 'error';
/** sent: handed to a home (over the wire or this agent's own store); applied / dropped: what became of them. */
export type DeltaState = 'sent' | 'applied' | 'dropped';

export interface DirectoryMetrics {
  lookup(result: DirectoryLookupResult, seconds: number): void;
  deltas(state: DeltaState, n: number): void;
}

export const noopDirectoryMetrics: DirectoryMetrics = { lookup: () => undefined, deltas: () => undefined };

interface Families {
  readonly entries: Map<string, () => number>;
  readonly sink: (pool: string) => DirectoryMetrics;
}

const families = new WeakMap<Registry, Families>();

function poolLabel(pool: string): { pool?: string } {
  return pool === DEFAULT_POOL ? {} : { pool };
}

/** The sink of `pool` on `registry`; the entries gauge reads `entries()` at scrape time. */
export function createDirectoryMetrics(registry: Registry, pool: string, entries: () => number): DirectoryMetrics {
  let f = families.get(registry);
  if (f === undefined) {
    f = createFamilies(registry);
    families.set(registry, f);
  }
  f.entries.set(pool, entries);
  return f.sink(pool);
}

function createFamilies(registry: Registry): Families {
  const P = 'brixlet_kvcache_';
  const registers = [registry];
  const entries = new Map<string, () => number>();
  new Gauge({
    name: `${P}directory_entries`,
    help: 'Directory entries (namespace, key, holder) this agent keeps as the ring home of their chains.',
    labelNames: ['pool'],
    registers,
    collect() {
      for (const [pool, read] of entries) this.set(poolLabel(pool), read());
    },
  });
  const lookups = new Counter({ name: `${P}directory_lookups_total`, help: 'Directory lookups this agent asked (of its own store or a chain\'s home), by result.', labelNames: ['result', 'pool'], registers });
  const seconds = new Histogram({
    name: `${P}directory_lookup_duration_seconds`,
    help: 'Time of one directory lookup, the round trip to the chain\'s home included.',
    labelNames: ['pool'],
    buckets: [1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2],
    registers,
  });
  const deltas = new Counter({
    name: `${P}publish_deltas_total`,
    help: 'Directory deltas (hot block held, hot block evicted) this agent published, by state: sent to a home, applied there, dropped (queue full, home unreachable or refusing).',
    labelNames: ['state', 'pool'],
    registers,
  });
  return {
    entries,
    sink(pool) {
      const pl = poolLabel(pool);
      for (const result of ['hit', 'miss', 'error'] as const) lookups.inc({ ...pl, result }, 0);
      for (const state of ['sent', 'applied', 'dropped'] as const) deltas.inc({ ...pl, state }, 0);
      const hist = seconds.labels(pl);
      return {
        lookup(result, s) {
          lookups.inc({ ...pl, result });
          hist.observe(s);
        },
        deltas: (state, n) => deltas.inc({ ...pl, state }, n),
      };
    },
  };
}
