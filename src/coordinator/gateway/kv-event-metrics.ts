/**
 * `brixlet_router_kv_events_*` (--gateway.kv-events), rendered at scrape time from the feed's and the
 * index's counters (nothing is counted twice on the batch path). Per engine: batches and events
 * applied, lag, gaps and replays, batches skipped by reason, whether its events are live, blocks
 * indexed; for the index: blocks, bytes (typed arrays plus an estimate per block for the engine-hash
 * map and strings, from npm run bench:kv-events) and evictions.
 */
import type { KvEventFeed } from '../router/kv-event-feed.js';
import { escapeLabel as esc } from './router-metrics.js';

/** Bytes per indexed block beyond the typed arrays: the engine-hash map entry and its string (bench:kv-events). */
export const MAP_BYTES_PER_BLOCK = 50;

type Kind = 'counter' | 'gauge';

export function renderKvEventMetrics(feed: KvEventFeed): string {
  const stats = feed.stats();
  const out: string[] = [];
  const family = (name: string, kind: Kind, help: string, rows: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`);
    for (const [labels, v] of rows) out.push(`${name}${labels} ${v}`);
  };
  const per = (f: (s: (typeof stats)[number]) => number): [string, number][] => stats.map((s) => [`{engine="${esc(s.name)}"}`, f(s)]);
  family('brixlet_router_kv_events_batches_total', 'counter', 'KV event batches applied to the exact index, by engine.', per((s) => s.index?.batches ?? 0));
  family('brixlet_router_kv_events_events_total', 'counter', 'KV events applied (BlockStored, BlockRemoved, AllBlocksCleared), by engine.', per((s) => s.index?.events ?? 0));
  family('brixlet_router_kv_events_lag_seconds', 'gauge', "Arrival time of an engine's latest batch minus the engine's timestamp on it.", per((s) => s.index?.lagSeconds ?? 0));
  family('brixlet_router_kv_events_gaps_total', 'counter', 'Sequence jumps on the live stream, by engine.', per((s) => s.stream.gaps));
  family('brixlet_router_kv_events_replays_total', 'counter', "Replay requests sent to an engine's replay socket.", per((s) => s.stream.replays));
  family('brixlet_router_kv_events_replayed_batches_total', 'counter', 'Batches recovered through replay, by engine.', per((s) => s.stream.replayed));
  family('brixlet_router_kv_events_lost_batches_total', 'counter', 'Batches still missing after a replay ended (or with no replay socket), by engine.', per((s) => s.stream.lost));
  const skipped: [string, number][] = [];
  for (const s of stats) {
    const e = esc(s.name);
    skipped.push([`{engine="${e}",reason="undecodable"}`, s.stream.decodeErrors]);
    skipped.push([`{engine="${e}",reason="malformed"}`, s.index?.malformed ?? 0]);
    skipped.push([`{engine="${e}",reason="out-of-order"}`, (s.index?.outOfOrder ?? 0) + s.stream.duplicates]);
  }
  family('brixlet_router_kv_events_skipped_batches_total', 'counter', 'Batches skipped, by engine and reason (undecodable message, malformed event, sequence not above the last).', skipped);
  family('brixlet_router_kv_events_unkeyed_blocks_total', 'counter', 'Stored blocks not indexed (parent never seen, a tier store of an unknown block, an adapter named only by lora_id).', per((s) => s.index?.unkeyed ?? 0));
  family('brixlet_router_kv_events_restarts_total', 'counter', "Engine publisher restarts seen (sequence back to 0); the engine's blocks were dropped.", per((s) => s.index?.restarts ?? 0));
  family('brixlet_router_kv_events_live', 'gauge', "1 while an engine's KV events flow (routing uses them), 0 when it is on the approximate index.", per((s) => (s.index?.live === true ? 1 : 0)));
  family('brixlet_router_kv_events_engine_blocks', 'gauge', 'Blocks the exact index holds for an engine.', per((s) => s.index?.blocks ?? 0));
  const index = feed.index;
  family('brixlet_router_kv_events_index_blocks', 'gauge', 'Blocks the exact index holds across engines.', [['', index.size]]);
  family('brixlet_router_kv_events_index_bytes', 'gauge', 'Memory of the exact index: its typed arrays plus an estimate per block for its engine-hash map and strings.', [['', index.arrayBytes + index.size * MAP_BYTES_PER_BLOCK]]);
  family('brixlet_router_kv_events_index_evictions_total', 'counter', 'Blocks dropped from the exact index at its capacity (--gateway.kv-events-capacity).', [['', index.evicted]]);
  return `${out.join('\n')}\n`;
}
