/** The human forms of `brixlet kv` answers: the shard summary and lookup leases. */
import type { KvStats } from '../../kvcache/client/kv-client.js';
import type { Style } from '../style.js';
import { table } from './fault-table.js';

/** 1536 → `1.5KiB`; exact values keep no decimals. */
export function humanBytes(n: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))}${unit}`;
  }
  return `${n}B`;
}

function ratio(r: number | null): string {
  return r === null ? '-' : `${(r * 100).toFixed(1)}%`;
}

export function renderStats(s: KvStats, st: Style): string {
  const evictions = Object.entries(s.evictions)
    .map(([q, n]) => `${q}=${n ?? 0}`)
    .join(' ');
  const lines: [string, string][] = [
    ['socket', s.socket],
    ['slabs', `${s.slabs.count} × ${humanBytes(s.slabs.size)} in ${s.dir} (generation ${s.generation})`],
    ['capacity', `${humanBytes(s.capacityBytes)}; pages of ${humanBytes(s.pageSize)}`],
    ['used', `${humanBytes(s.usedBytes)} (sealed ${humanBytes(s.bytesByState.sealed)}, writing ${humanBytes(s.bytesByState.writing)}, free ${humanBytes(s.bytesByState.free)})`],
    ['entries', `${s.entries} of at most ${s.maxEntries}`],
    ['policy', `${s.policy}; evictions ${evictions === '' ? 'none' : evictions}; ghost hits ${s.ghostHits}`],
    ['leases', `${s.leases.read} read, ${s.leases.write} write; ${s.connections} connection(s)`],
    ['hit ratio', `${ratio(s.hitRatio)} (${s.hitBlocks} of ${s.requestedBlocks} blocks in ${s.lookups} lookups)`],
  ];
  const r = s.remote;
  if (r !== undefined) lines.push(['pool', `${r.hitBlocks} block(s) (${humanBytes(r.hitBytes)}) fetched from other agents in ${r.reads} remote read(s), ${r.budgetExpired} past budget; ${r.servedBlocks} (${humanBytes(r.servedBytes)}) served to them`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const head = lines.map(([k, v]) => `${st.bold(k.padEnd(width))}  ${v}`).join('\n') + '\n';
  if (s.namespaces.length === 0) return head;
  const rows = s.namespaces.map((n) => [
    n.name,
    humanBytes(n.blockSize),
    String(n.entries),
    humanBytes(n.bytes),
    n.quotaBytes === null ? '-' : humanBytes(n.quotaBytes),
    ratio(n.hitRatio),
    String(n.connections),
  ]);
  return `${head}\n${table(['NAMESPACE', 'BLOCK', 'ENTRIES', 'BYTES', 'QUOTA', 'HIT RATIO', 'CONNECTIONS'], rows, st)}`;
}

export interface LookupRow {
  readonly key: string;
  readonly leaseId: number;
  readonly slab: number;
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export function renderLookup(requested: number, hits: number, rows: readonly LookupRow[], st: Style): string {
  const head = `${hits} of ${requested} block(s) cached\n`;
  if (rows.length === 0) return head;
  return head + table(['KEY', 'LEASE', 'SLAB', 'OFFSET', 'LENGTH'], rows.map((r) => [r.key, String(r.leaseId), r.path, String(r.offset), String(r.length)]), st);
}
