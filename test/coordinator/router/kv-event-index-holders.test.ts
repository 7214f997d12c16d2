import { describe, expect, it } from 'vitest';
import type { BlockStored, KvEvent } from '../../../src/common/kv-events/types.js';
import { BRIXLET_MEDIUM, GPU_MEDIUM } from '../../../src/common/kv-events/types.js';
import { tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { createKvEventIndex, type KvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import type { PromptBlocks } from '../../../src/coordinator/router/types.js';
import { seeded } from './fixtures.js';

const BS = 4;

function stored(hashes: string[], tokens: number[], parent: string | null, o: Partial<BlockStored> = {}): BlockStored {
  return { type: 'BlockStored', blockHashes: hashes, parentBlockHash: parent, tokenIds: tokens, blockSize: BS, loraId: null, medium: null, loraName: null, ...o };
}

function blocksOf(tokens: number[], blockTokens = BS): PromptBlocks {
  const text = tokensToText(tokens);
  return { ...createPrefixIndex({ blockTokens, capacity: 10 }).blocks(text), text };
}

/** matchLive's answer as a Map (in report order). */
function live(idx: KvEventIndex, b: PromptBlocks): Map<string, number> {
  const out = new Map<string, number>();
  idx.matchLive(b, (uid, t) => out.set(uid, t));
  return out;
}

/** The per-engine answer for every live engine holding the first block. */
function perEngine(idx: KvEventIndex, b: PromptBlocks): Map<string, number> {
  const out = new Map<string, number>();
  for (const uid of idx.liveUids()) {
    const t = idx.matchedTokens(uid, b);
    if (t > 0) out.set(uid, t);
  }
  return out;
}

describe('KvEventIndex holder rows (matchLive)', () => {
  it('reports each live engine where it drops out along the prompt, with tier blocks weighted', () => {
    const idx = createKvEventIndex({ capacity: 1000, staleMs: 5000 });
    const t = Array.from({ length: 16 }, (_, i) => 500 + i);
    const seq = new Map<string, bigint>();
    const send = (uid: string, events: KvEvent[]) => {
      const s = (seq.get(uid) ?? -1n) + 1n;
      seq.set(uid, s);
      idx.ingest(uid, { topic: 't', seq: s, batch: { ts: 0, dataParallelRank: null, events } }, 0);
    };
    send('a', [stored(['a1', 'a2', 'a3', 'a4'], t, null)]);
    send('b', [stored(['b1'], t.slice(0, 4), null)]);
    send('c', [stored(['c1', 'c2', 'c3'], t.slice(0, 12), null)]);
    // c's second block lives only in the pool tier after this.
    send('c', [stored(['c2'], [], 'c1', { medium: BRIXLET_MEDIUM }), { type: 'BlockRemoved', blockHashes: ['c2'], medium: GPU_MEDIUM }]);
    // d holds another prompt only; e holds the prompt's second block without its first.
    send('d', [stored(['d1'], [9, 9, 9, 9], null)]);
    send('e', [stored(['e1', 'e2'], t.slice(0, 8), null), { type: 'BlockRemoved', blockHashes: ['e1'], medium: null }]);
    const b = blocksOf(t);
    const got = live(idx, b);
    expect(got).toEqual(new Map([['a', 16], ['b', 4], ['c', 10]]));
    expect(got).toEqual(perEngine(idx, b));
    // A stale engine is not reported; a removed one is forgotten.
    idx.setConnected('a', false, 1);
    idx.removeEngine('b');
    expect(live(idx, b)).toEqual(new Map([['c', 10]]));
    // Clearing c leaves no holders.
    send('c', [{ type: 'AllBlocksCleared' }]);
    expect(live(idx, b).size).toBe(0);
  });

  it('walks each engine block size in turn (the prompt rehashed per size)', () => {
    const idx = createKvEventIndex({ capacity: 1000, staleMs: 5000 });
    const t = Array.from({ length: 16 }, (_, i) => 700 + i);
    const ev = (uid: string, e: BlockStored) => idx.ingest(uid, { topic: 't', seq: 0n, batch: { ts: 0, dataParallelRank: null, events: [e] } }, 0);
    ev('four', stored(['x1', 'x2', 'x3'], t.slice(0, 12), null));
    ev('eight', stored(['y1'], t.slice(0, 8), null, { blockSize: 8 }));
    ev('eight-b', stored(['z1', 'z2'], t, null, { blockSize: 8 }));
    const b = blocksOf(t, 16);
    expect(live(idx, b)).toEqual(new Map([['four', 12], ['eight', 8], ['eight-b', 16]]));
    expect(live(idx, b)).toEqual(perEngine(idx, b));
  });

  it('hashes a long prompt at the engine block size only as far as engines match, extending the same chain later', () => {
    const idx = createKvEventIndex({ capacity: 10_000, staleMs: 5000 });
    const t = Array.from({ length: 4 * 300 }, (_, i) => 1 + ((i * 7919) % 50_000));
    const hashes = (p: string, n: number) => Array.from({ length: n }, (_, k) => `${p}${k}`);
    idx.ingest('short', { topic: 't', seq: 0n, batch: { ts: 0, dataParallelRank: null, events: [stored(hashes('s', 3), t.slice(0, 12), null)] } }, 0);
    idx.ingest('long', { topic: 't', seq: 0n, batch: { ts: 0, dataParallelRank: null, events: [stored(hashes('l', 150), t.slice(0, 600), null)] } }, 0);
    idx.ingest('all', { topic: 't', seq: 0n, batch: { ts: 0, dataParallelRank: null, events: [stored(hashes('a', 300), t, null)] } }, 0);
    // The prefix index cuts 64-token blocks: the exact index rehashes at 4, first in part (matchLive).
    const b = blocksOf(t, 64);
    expect(live(idx, b)).toEqual(new Map([['short', 12], ['long', 600], ['all', 1200]]));
    expect(perEngine(idx, b)).toEqual(new Map([['short', 12], ['long', 600], ['all', 1200]]));
    // A prompt diverging at block 40: keys hashed partly for it, then the full walk of matchedTokens.
    const other = blocksOf([...t.slice(0, 160), ...Array.from({ length: 1000 }, () => 3)], 64);
    expect(live(idx, other)).toEqual(new Map([['short', 12], ['long', 160], ['all', 160]]));
    expect(idx.matchedTokens('all', other)).toBe(160);
    expect(live(idx, other)).toEqual(perEngine(idx, other));
  });

  it('stays equal to the per-engine index under random stores, removals, clears, restarts, evictions and engine churn (40 engines)', () => {
    const rand = seeded(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    // Prompts sharing prefixes: 6 roots, each extended by random suffixes, 8 blocks each.
    const roots = Array.from({ length: 6 }, (_, r) => Array.from({ length: 12 }, (_, i) => 100 * r + i + 1));
    const prompts = Array.from({ length: 24 }, () => [...pick(roots), ...Array.from({ length: 20 }, () => 1 + Math.floor(rand() * 6))]);
    const uids = Array.from({ length: 40 }, (_, i) => `e${i}`);
    const idx = createKvEventIndex({ capacity: 150, staleMs: 1000, tierWeight: 0.25 });
    const seq = new Map<string, bigint>();
    let hashNo = 0;
    let now = 0;
    const send = (uid: string, events: KvEvent[], restart = false) => {
      const s = restart ? 0n : (seq.get(uid) ?? -1n) + 1n;
      seq.set(uid, s);
      idx.ingest(uid, { topic: 't', seq: s, batch: { ts: 0, dataParallelRank: null, events } }, now);
    };
    /** Engine hashes each engine gave each prompt's blocks (to remove and chain to). */
    const held = new Map<string, string[]>();
    let checks = 0;
    let maxLive = 0;
    for (let step = 0; step < 3000; step++) {
      now += 1;
      const uid = pick(uids);
      const r = rand();
      if (r < 0.5) {
        const p = Math.floor(rand() * prompts.length);
        const tokens = prompts[p] as number[];
        const known = held.get(`${uid}/${p}`) ?? [];
        // Store from some point along the chain (a re-store refreshes; a fresh hash for a known block shadows it).
        const from = Math.min(known.length, Math.floor(rand() * 8));
        const to = Math.min(8, from + 1 + Math.floor(rand() * 4));
        const hashes = Array.from({ length: to - from }, () => `h${hashNo++}`);
        const medium = rand() < 0.2 ? BRIXLET_MEDIUM : null;
        send(uid, [stored(hashes, tokens.slice(from * BS, to * BS), from === 0 ? null : (known[from - 1] as string), { medium })]);
        held.set(`${uid}/${p}`, [...known.slice(0, from), ...hashes]);
      } else if (r < 0.75) {
        const keys = [...held.keys()].filter((k) => k.startsWith(`${uid}/`));
        if (keys.length > 0) {
          const hs = held.get(pick(keys)) as string[];
          send(uid, [{ type: 'BlockRemoved', blockHashes: [pick(hs)], medium: pick([null, GPU_MEDIUM, BRIXLET_MEDIUM]) }]);
        }
      } else if (r < 0.8) {
        send(uid, [{ type: 'AllBlocksCleared' }]);
      } else if (r < 0.83) {
        send(uid, [], true);
      } else if (r < 0.85) {
        idx.removeEngine(uid);
        seq.delete(uid);
        for (const k of [...held.keys()]) if (k.startsWith(`${uid}/`)) held.delete(k);
      } else if (r < 0.9) {
        idx.setConnected(uid, rand() < 0.5, now);
      } else if (r < 0.92) {
        idx.sweep(now);
      } else {
        const b = blocksOf(pick(prompts));
        expect(live(idx, b)).toEqual(perEngine(idx, b));
        checks++;
        maxLive = Math.max(maxLive, idx.liveEngines);
      }
    }
    for (const p of prompts) expect(live(idx, blocksOf(p))).toEqual(perEngine(idx, blocksOf(p)));
    expect(checks).toBeGreaterThan(100);
    expect(idx.evicted).toBeGreaterThan(0);
    // Past 32 engine slots the holder rows take a second word.
    expect(maxLive).toBeGreaterThan(32);
  });
});
