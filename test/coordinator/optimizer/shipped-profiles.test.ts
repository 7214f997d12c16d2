// The profiles shipped in profiles/ (made by `brixlet profile` against the mock engine's GPU models,
// scripts/mock-profiles.sh): the optimizer's parser reads them, they share one grid, and they rank
// the GPUs as the mock engine's models do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGridsAgree, parseProfile } from '../../../src/coordinator/optimizer/profiles.js';
import type { ServingProfile } from '../../../src/coordinator/optimizer/types.js';
import { GPU_PROFILES } from '../../../src/mock-engine/index.js';
import { repoRoot } from '../../helpers/repo.js';

const GPUS = ['h100', 'a100', 'l20', 'a10'] as const;

function load(gpu: string): { profile: ServingProfile; warnings: readonly string[] } {
  const path = join(repoRoot, 'profiles', `mock-llama-3-8b-${gpu}.json`);
  return parseProfile(readFileSync(path, 'utf8'), path);
}

const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0);

describe('shipped mock-engine profiles', () => {
  const profiles = Object.fromEntries(GPUS.map((g) => [g, load(g)]));

  it.each(GPUS)('%s parses without warnings, for the mock engine model, at its list price, with its SLO', (gpu) => {
    const { profile, warnings } = profiles[gpu] as ReturnType<typeof load>;
    expect(warnings).toEqual([]);
    expect(profile).toMatchObject({ gpu, model: 'mock-llama-3-8b', cost: GPU_PROFILES[gpu]?.costPerHour, slos: { percentile: 99, e2e: 10 } });
    expect(profile.e2e).toBeDefined();
    expect(profile.ttft).toBeDefined();
    expect(profile.tpot).toBeDefined();
    // Every cell is servable by some rate on the fastest GPU; a cell of 0 elsewhere means "not within the SLO".
    expect(sum(profile.tputs)).toBeGreaterThan(0);
  });

  it('are on one grid, so one model can be planned over all four', () => {
    expect(() => checkGridsAgree(GPUS.map((g) => (profiles[g] as ReturnType<typeof load>).profile))).not.toThrow();
  });

  it('give the a10 less throughput than the l20 cell by cell, and the h100 the most in total', () => {
    const l20 = (profiles.l20 as ReturnType<typeof load>).profile.tputs;
    const a10 = (profiles.a10 as ReturnType<typeof load>).profile.tputs;
    const slower = [...a10].filter((t, c) => t < (l20[c] as number)).length;
    const equalOrSlower = [...a10].filter((t, c) => t <= (l20[c] as number) * 1.05).length;
    expect(equalOrSlower).toBe(a10.length);
    expect(slower).toBeGreaterThanOrEqual(Math.ceil(0.8 * a10.length));
    const totals = Object.fromEntries(GPUS.map((g) => [g, sum((profiles[g] as ReturnType<typeof load>).profile.tputs)]));
    expect(totals.h100).toBeGreaterThan(totals.a100 as number);
    expect(totals.a100).toBeGreaterThan(totals.l20 as number);
    expect(totals.l20).toBeGreaterThan(totals.a10 as number);
  });
});
