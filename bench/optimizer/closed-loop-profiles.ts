/**
 * Serving profiles for the closed-loop experiment, made in-process: the sweep `brixlet profile`
 * runs (every (output, input) cell of the grid at each request rate, requests of exactly that shape,
 * Poisson arrivals) against the mock engine's GPU model in virtual time instead of over HTTP, and
 * AIBrix's cell rule (profile-cell.ts chooseCellRow) on the rows. Same model, same rule, no wall
 * clock: the profile and the closed loop's engines agree exactly, and the sweep takes seconds.
 * `shippedProfile` reads a profile file made by `brixlet profile` instead (scripts/mock-profiles.sh).
 */
import { readFileSync } from 'node:fs';
import { chooseCellRow, latencyStats, type ProfileRow, type ProfileSlo } from '../../src/coordinator/optimizer/profile-cell.js';
import { parseProfile } from '../../src/coordinator/optimizer/profiles.js';
import type { ServingProfile } from '../../src/coordinator/optimizer/types.js';
import { createEngineModel } from '../../src/mock-engine/model.js';
import { createRandom } from '../../src/mock-engine/random.js';
import type { GpuProfile } from '../../src/mock-engine/types.js';

/** The grid, rates and SLO of scripts/mock-profiles.sh (the shipped profiles). */
export const PROFILE_INPUTS: readonly number[] = [128, 256, 512, 1024, 2048];
export const PROFILE_OUTPUTS: readonly number[] = [16, 32, 64, 128, 256];
export const PROFILE_RATES: readonly number[] = [1, 2, 4, 8, 16, 32, 64];
export const PROFILE_SLO: ProfileSlo = { e2e: 10, statistic: 99 };

export interface SimProfileOptions {
  readonly inputs?: readonly number[];
  readonly outputs?: readonly number[];
  readonly rates?: readonly number[];
  /** Requests per sweep point (scripts/mock-profiles.sh sends 40). */
  readonly requests?: number;
  readonly slo?: ProfileSlo;
  /** Per GPU-hour; default the GPU model's costPerHour. */
  readonly cost?: number;
  readonly seed?: number;
}

/** One sweep point: `requests` requests of (input, output) tokens at `rate`, on one engine model. */
export function simPoint(gpu: GpuProfile, input: number, output: number, rate: number, requests: number, seed: number): Omit<ProfileRow, 'tput'> & { readonly span: number } {
  const model = createEngineModel(gpu, { seed, tokenEvents: false });
  const rand = createRandom(seed * 7919 + 1);
  const sendAt: number[] = [];
  let t = 0;
  for (let k = 0; k < requests; k++) {
    sendAt.push(t);
    t += (-Math.log(1 - rand()) * 1000) / rate;
  }
  const first = new Map<string, number>();
  const e2e: number[] = [];
  const ttft: number[] = [];
  let next = 0;
  let lastDone = 0;
  while (e2e.length < requests) {
    const tEngine = model.nextEventAt() ?? Infinity;
    const tSend = next < requests ? (sendAt[next] as number) : Infinity;
    if (tSend <= tEngine) {
      model.submit({ id: String(next), promptTokens: input, blockHashes: [], outputTokens: output }, tSend);
      next++;
      continue;
    }
    if (tEngine === Infinity) throw new Error(`profile sweep stalled at ${gpu.name} ${output}x${input}`);
    for (const ev of model.advance(tEngine)) {
      const sent = sendAt[Number(ev.id)] as number;
      if (ev.type === 'first-token') first.set(ev.id, ev.at - sent);
      else if (ev.type === 'finish') {
        e2e.push((ev.at - sent) / 1000);
        ttft.push((first.get(ev.id) ?? ev.at - sent) / 1000);
        lastDone = ev.at;
      } else if (ev.type === 'aborted') throw new Error(`profile sweep: ${gpu.name} cannot hold a ${input}-token prompt`);
    }
  }
  const offered = requests > 1 ? ((requests - 1) * 1000) / ((sendAt[requests - 1] as number) - (sendAt[0] as number)) : rate;
  return { input, output, rate, offered, sent: requests, completed: requests, failed: 0, e2e: latencyStats(e2e), ttft: latencyStats(ttft), span: lastDone / 1000 };
}

/** A profile of `gpu` made by the sweep and AIBrix's cell rule (the profiler's throughput formula). */
export function simProfile(gpu: GpuProfile, o: SimProfileOptions = {}): ServingProfile {
  const inputs = o.inputs ?? PROFILE_INPUTS;
  const outputs = o.outputs ?? PROFILE_OUTPUTS;
  const rates = o.rates ?? PROFILE_RATES;
  const slo = o.slo ?? PROFILE_SLO;
  const requests = o.requests ?? 40;
  const tputs = new Float64Array(inputs.length * outputs.length);
  const e2e = new Float64Array(tputs.length);
  const ttft = new Float64Array(tputs.length);
  for (let oi = 0; oi < outputs.length; oi++) {
    for (let ii = 0; ii < inputs.length; ii++) {
      const points = rates.map((rate, k) => simPoint(gpu, inputs[ii] as number, outputs[oi] as number, rate, requests, (o.seed ?? 1) * 1_000_003 + oi * 1009 + ii * 101 + k));
      // profile-load.ts: completions over (last completion − first send − the cell's least E2E).
      const unloaded = Math.min(...points.map((p) => p.e2e.min));
      const rows: ProfileRow[] = points.map(({ span, ...p }) => {
        const window = span - unloaded;
        return { ...p, tput: window > 0 ? p.completed / window : p.offered };
      });
      const chosen = chooseCellRow(rows, slo);
      const cell = oi * inputs.length + ii;
      tputs[cell] = chosen === undefined ? 0 : round4(chosen.tput);
      e2e[cell] = chosen === undefined ? 0 : round4(chosen.e2e.mean);
      ttft[cell] = chosen?.ttft === undefined ? 0 : round4(chosen.ttft.mean);
    }
  }
  const slos: Record<string, number> = { percentile: slo.statistic === 'mean' ? 0 : slo.statistic };
  if (slo.e2e !== undefined) slos.e2e = slo.e2e;
  if (slo.ttft !== undefined) slos.ttft = slo.ttft;
  return { gpu: gpu.name, model: 'mock-llama-3-8b', cost: o.cost ?? gpu.costPerHour, grid: { outputs: [...outputs], inputs: [...inputs] }, tputs, e2e, ttft, slos };
}

/** A profile file made by `brixlet profile` (AIBrix JSON), validated as the optimizer reads it. */
export function shippedProfile(path: string): ServingProfile {
  return parseProfile(readFileSync(path, 'utf8'), path).profile;
}

/** The profile as AIBrix JSON (rows = output ticks), for the results file. */
export function profileJson(p: ServingProfile): Record<string, unknown> {
  const rows = (a: Float64Array | undefined) => (a === undefined ? undefined : p.grid.outputs.map((_, oi) => Array.from(a.subarray(oi * p.grid.inputs.length, (oi + 1) * p.grid.inputs.length))));
  return { gpu: p.gpu, model: p.model, cost: p.cost, tputs: rows(p.tputs), indexes: [p.grid.outputs, p.grid.inputs], e2e: rows(p.e2e), ttft: rows(p.ttft), slos: p.slos };
}

const round4 = (x: number): number => Number(x.toPrecision(4));
