/**
 * npm run bench:kv-events [-- --quick]
 *
 * Ingestion of engines' KV events into the gateway's exact index (src/coordinator/router/kv-event-index.ts)
 * on one core, from decoded batches (what the subscriber hands the index; decoding is not timed):
 * (a) steady state: each batch stores a chain of 8 blocks (16 tokens each, with their token ids,
 *     chained to the previous batch's last block) and, past the warm-up, removes the 8 oldest, as an
 *     engine evicting its cache does; block events/s (stored + removed hashes).
 * (b) bounded: stores only, the index full at its capacity, so every stored block evicts the oldest.
 * (c) memory per indexed block: heap + array-buffer growth after filling the index to its capacity,
 *     divided by the blocks held.
 * Peer, measured in the same run on the same batches: a plain Map index — per engine a Map from the
 * engine hash to {key, media} and a Map from the gateway key to the hash, eviction by the maps'
 * insertion order, the same key computation (hashTokenBlock). Target: ≥ 200 000 block events/s (a, b).
 * (d) Decision time of the cost policy through the real Router at 64 engines whose events are all
 *     live (every engine holding some of 16 shared 2048-token system prompts, block 16; prompts of
 *     2048 + 256–4096 tokens, the prefix index at its default 128-token blocks, so the exact index
 *     rehashes each prompt at 16), p99 beside the same Router on the approximate index alone.
 */
import { performance } from 'node:perf_hooks';
import type { KvEvent, ReceivedKvEventBatch } from '../src/common/kv-events/types.js';
import { tokensToText } from '../src/coordinator/gateway/engine-tokenizer.js';
import { hashTokenBlock } from '../src/coordinator/router/block-hash.js';
import { HybridPrefixIndex } from '../src/coordinator/router/hybrid-prefix-index.js';
import { createKvEventIndex } from '../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../src/coordinator/router/prefix-index.js';
import { Router } from '../src/coordinator/router/router.js';
import { prng } from './kv/synthetic.js';
import { percentile } from './lib/report.js';
import { buildFleet } from './router/decision.js';
import { benchArgs, row, target, writeReport, type Row } from './lib/report.js';

const args = benchArgs();
const ENGINES = 4;
const BS = 16;
const CHAIN = 8;
const BATCHES = args.quick ? 40_000 : 150_000;
const CAPACITY = args.quick ? 100_000 : 500_000;

interface Sink {
  ingest(uid: string, b: ReceivedKvEventBatch, now: number): unknown;
  readonly size: number;
}

/** The peer: Maps only. */
class MapIndex implements Sink {
  private readonly engines = new Map<string, { byHash: Map<string, { key: number; media: number }>; byKey: Map<number, string> }>();
  private total = 0;
  constructor(private readonly capacity: number) {}
  get size(): number {
    return this.total;
  }
  ingest(uid: string, b: ReceivedKvEventBatch): void {
    let e = this.engines.get(uid);
    if (e === undefined) this.engines.set(uid, (e = { byHash: new Map(), byKey: new Map() }));
    for (const ev of b.batch.events) {
      if (ev.type === 'BlockStored') {
        let prev = ev.parentBlockHash === null ? 0 : e.byHash.get(ev.parentBlockHash)?.key;
        for (let k = 0; k < ev.blockHashes.length; k++) {
          if (prev === undefined) break;
          const h = ev.blockHashes[k] as string;
          prev = hashTokenBlock(prev, ev.tokenIds, k * ev.blockSize, ev.blockSize);
          if (this.total >= this.capacity) this.evictOldest();
          e.byHash.set(h, { key: prev, media: 1 });
          e.byKey.set(prev, h);
          this.total++;
        }
      } else if (ev.type === 'BlockRemoved') {
        for (const h of ev.blockHashes) {
          const v = e.byHash.get(h);
          if (v === undefined) continue;
          e.byHash.delete(h);
          e.byKey.delete(v.key);
          this.total--;
        }
      }
    }
  }
  private evictOldest(): void {
    // Oldest of the engine with the most blocks (insertion order per map).
    let big: { byHash: Map<string, { key: number; media: number }>; byKey: Map<number, string> } | undefined;
    for (const e of this.engines.values()) if (big === undefined || e.byHash.size > big.byHash.size) big = e;
    if (big === undefined) return;
    const first = big.byHash.entries().next().value;
    if (first === undefined) return;
    big.byHash.delete(first[0]);
    big.byKey.delete(first[1].key);
    this.total--;
  }
}

/** Pre-built batches per engine, round-robin: stores chained to the engine's previous chain, removes of the oldest. */
function workload(removes: boolean): { uid: string; batch: ReceivedKvEventBatch; blocks: number }[] {
  const out: { uid: string; batch: ReceivedKvEventBatch; blocks: number }[] = [];
  const tokenPool: number[][] = [];
  for (let i = 0; i < 1024; i++) tokenPool.push(Array.from({ length: BS * CHAIN }, (_, j) => (i * 7919 + j * 104729) % 128_000));
  const next = new Array<number>(ENGINES).fill(0);
  const oldest = new Array<number>(ENGINES).fill(0);
  const seq = new Array<bigint>(ENGINES).fill(0n);
  const steady = CAPACITY / 2 / ENGINES;
  for (let b = 0; b < BATCHES; b++) {
    const e = b % ENGINES;
    const base = next[e] as number;
    const hashes: string[] = [];
    for (let k = 0; k < CHAIN; k++) hashes.push(String(e * 1e12 + base + k));
    const events: KvEvent[] = [
      {
        type: 'BlockStored',
        blockHashes: hashes,
        parentBlockHash: base === 0 ? null : String(e * 1e12 + base - 1),
        tokenIds: tokenPool[b % tokenPool.length] as number[],
        blockSize: BS,
        loraId: null,
        medium: null,
        loraName: null,
      },
    ];
    let blocks = CHAIN;
    next[e] = base + CHAIN;
    if (removes && base + CHAIN - (oldest[e] as number) > steady) {
      const gone: string[] = [];
      for (let k = 0; k < CHAIN; k++) gone.push(String(e * 1e12 + (oldest[e] as number) + k));
      oldest[e] = (oldest[e] as number) + CHAIN;
      events.push({ type: 'BlockRemoved', blockHashes: gone, medium: null });
      blocks += CHAIN;
    }
    out.push({ uid: `engine-${e}`, batch: { topic: 'kv-events', seq: seq[e] as bigint, batch: { ts: 0, events, dataParallelRank: null } }, blocks });
    seq[e] = (seq[e] as bigint) + 1n;
  }
  return out;
}

function rate(make: () => Sink, work: ReturnType<typeof workload>): number {
  const sink = make();
  let blocks = 0;
  const t0 = performance.now();
  for (const w of work) {
    sink.ingest(w.uid, w.batch, 0);
    blocks += w.blocks;
  }
  return blocks / ((performance.now() - t0) / 1000);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function bytesPerBlock(make: () => Sink, work: ReturnType<typeof workload>): number {
  gc();
  const m0 = process.memoryUsage();
  const sink = make();
  for (const w of work) {
    sink.ingest(w.uid, w.batch, 0);
    if (sink.size >= CAPACITY) break;
  }
  gc();
  const m1 = process.memoryUsage();
  const bytes = m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers);
  const size = sink.size;
  // Keep the index reachable until measured.
  if (size < 0) console.log(sink);
  return bytes / size;
}

const steadyWork = workload(true);
const boundedWork = workload(false);
const exact = (): Sink => createKvEventIndex({ capacity: CAPACITY, staleMs: 1e12 });
const plain = (): Sink => new MapIndex(CAPACITY);

const runs = args.runs;
const a: number[] = [];
const aPeer: number[] = [];
const b: number[] = [];
const bPeer: number[] = [];
// Warm both paths once (JIT), then alternate order per run.
rate(exact, steadyWork);
rate(plain, steadyWork);
for (let i = 0; i < runs; i++) {
  if (i % 2 === 0) {
    a.push(rate(exact, steadyWork));
    aPeer.push(rate(plain, steadyWork));
    b.push(rate(exact, boundedWork));
    bPeer.push(rate(plain, boundedWork));
  } else {
    aPeer.push(rate(plain, steadyWork));
    a.push(rate(exact, steadyWork));
    bPeer.push(rate(plain, boundedWork));
    b.push(rate(exact, boundedWork));
  }
  gc();
}
const mem: number[] = [];
const memPeer: number[] = [];
for (let i = 0; i < Math.min(3, runs); i++) {
  mem.push(bytesPerBlock(exact, boundedWork));
  memPeer.push(bytesPerBlock(plain, boundedWork));
}

/** p99 µs of cost decisions at 64 engines, with every engine's KV events live or on the approximate index only. */
function decisionP99(exact: boolean, seed: number): number {
  const rand = prng(seed);
  const engines = buildFleet(64, rand);
  const approx = createPrefixIndex({ blockTokens: 128, capacity: 200_000 });
  const index = createKvEventIndex({ capacity: 1_000_000, staleMs: Infinity });
  const ids = (n: number) => Array.from({ length: n }, () => 1 + Math.floor(rand() * 60_000));
  const systems = Array.from({ length: 16 }, () => ids(2048));
  if (exact) {
    engines.forEach((e, i) => {
      // Each engine holds 4 of the system prompts (whole), as its events reported them.
      for (let j = 0; j < 4; j++) {
        const sys = systems[(i + j * 5) % systems.length] as number[];
        const hashes = Array.from({ length: sys.length / BS }, (_, k) => `${i}-${j}-${k}`);
        index.ingest(e.uid, { topic: 't', seq: BigInt(j), batch: { ts: 0, dataParallelRank: null, events: [{ type: 'BlockStored', blockHashes: hashes, parentBlockHash: null, tokenIds: sys, blockSize: BS, loraId: null, medium: null, loraName: null }] } }, 0);
      }
    });
  }
  const router = new Router({ defaultPolicy: 'cost', prefix: exact ? new HybridPrefixIndex(approx, index) : approx, random: rand });
  const prompts = Array.from({ length: 512 }, () => tokensToText([...(systems[Math.floor(rand() * systems.length)] as number[]), ...ids(256 + Math.floor(rand() * 3840))]));
  const times: number[] = [];
  for (let i = 0; i < (args.quick ? 4000 : 20_000); i++) {
    const prompt = prompts[i % prompts.length] as string;
    const t0 = process.hrtime.bigint();
    const d = router.route({ model: 'm', prompt, promptTokens: prompt.length }, engines);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    d.release(1);
  }
  return percentile(times.slice(times.length >> 2), 99);
}

const dec: number[] = [];
const decPeer: number[] = [];
for (let i = 0; i < runs; i++) {
  dec.push(decisionP99(true, i + 1));
  decPeer.push(decisionP99(false, i + 1));
}

const rows: Row[] = [
  row(`steady state store+remove, ${ENGINES} engines, block ${BS}`, 'ev/s', true, a, { 'map-index': aPeer }),
  row(`bounded at ${CAPACITY} blocks, evicting oldest`, 'ev/s', true, b, { 'map-index': bPeer }),
  row(`memory per indexed block (${CAPACITY} blocks)`, 'B', false, mem, { 'map-index': memPeer }),
  row('cost decision p99, 64 engines, events live', 'µs', false, dec, { 'approximate-only': decPeer }),
];
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
writeReport('kv-events', args, rows, [
  target('steady-state block events/s on one core', 'min', 200_000, median(a)),
  target('bounded block events/s on one core', 'min', 200_000, median(b)),
]);
