/**
 * Deterministic synthetic KV traffic (the setup of reference/kvcache.md §6.3): multi-turn chat
 * sessions picked by Zipf(1.0) popularity, each conversation starting with one of a few shared
 * 8-block system prompts and growing by 2–4 blocks per turn until it passes 96 blocks and starts
 * over; mixed with one-off scans (unique chains of 64–256 blocks: RAG, batch, eval sweeps).
 * Conversation content and scan placement come from separate seeded streams, so for one seed the
 * non-scan requests are identical whatever the scan share: the scans only add pollution.
 */
import { seededRandom } from '../../src/common/seeded-random.js';
import { packWorkload, type Workload } from './workload.js';

export interface SyntheticOptions {
  readonly seed: number;
  /** Conversation (non-scan) requests. */
  readonly turns: number;
  /** Share of all requests that are scans, 0 ≤ s < 1. */
  readonly scanShare: number;
  readonly sessions?: number;
  readonly zipf?: number;
  readonly systemPrompts?: number;
  readonly systemBlocks?: number;
  readonly turnBlocks?: readonly [number, number];
  readonly resetAfter?: number;
  readonly scanBlocks?: readonly [number, number];
}

/** A seeded 32-bit PRNG (mulberry32): uniform in [0, 1). */
export const prng = seededRandom;

/** Draws ranks 0 … n − 1 with P(k) ∝ 1 / (k + 1)^s. */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  return () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const between = (rand: () => number, [lo, hi]: readonly [number, number]) => lo + Math.floor(rand() * (hi - lo + 1));

export function syntheticWorkload(o: SyntheticOptions): Workload {
  const sessions = o.sessions ?? 2000;
  const systemPrompts = o.systemPrompts ?? 8;
  const systemBlocks = o.systemBlocks ?? 8;
  const turnBlocks = o.turnBlocks ?? [2, 4];
  const resetAfter = o.resetAfter ?? 96;
  const scanBlocks = o.scanBlocks ?? [64, 256];
  if (!(o.scanShare >= 0 && o.scanShare < 1)) throw new Error(`scan share ${o.scanShare} not in [0, 1)`);
  const talk = prng(o.seed);
  const scans = prng(o.seed ^ 0x5ca9);
  const pick = zipfSampler(sessions, o.zipf ?? 1.0, talk);

  let nextId = 0;
  const prompts: number[][] = [];
  for (let p = 0; p < systemPrompts; p++) prompts.push(Array.from({ length: systemBlocks }, () => nextId++));
  const convo: number[][] = Array.from({ length: sessions }, (_, s) => [...(prompts[s % systemPrompts] as number[])]);

  const chains: Int32Array[] = [];
  const isScan: number[] = [];
  for (let turns = 0; turns < o.turns; ) {
    if (o.scanShare > 0 && scans() < o.scanShare) {
      const n = between(scans, scanBlocks);
      const chain = new Int32Array(n);
      for (let i = 0; i < n; i++) chain[i] = nextId++;
      chains.push(chain);
      isScan.push(1);
      continue;
    }
    const s = pick();
    const add = between(talk, turnBlocks);
    let c = convo[s] as number[];
    if (c.length + add > resetAfter) convo[s] = c = [...(prompts[s % systemPrompts] as number[])];
    for (let i = 0; i < add; i++) c.push(nextId++);
    chains.push(Int32Array.from(c));
    isScan.push(0);
    turns++;
  }
  return packWorkload(`synthetic scan ${Math.round(o.scanShare * 100)}% seed ${o.seed}`, chains, Uint8Array.from(isScan));
}
