// The profiler against a live mock engine on a tiny grid (2 × 2 cells, 2 rates): requests of the
// asked shape, latencies converted back from the engine's time scale, AIBrix's cell rule applied
// to the measured rows, a profile the optimizer's parser reads; and the errors that name the fix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { chooseCellRow, type ProfileRow } from '../../../src/coordinator/optimizer/profile-cell.js';
import { endpointBase, type ProfileProgress, type ProfilerOptions, runProfiler } from '../../../src/coordinator/optimizer/profiler.js';
import { parseProfile } from '../../../src/coordinator/optimizer/profiles.js';
import { GPU_PROFILES, type RunningMockEngine, startMockEngine } from '../../../src/mock-engine/index.js';

const SCALE = 20;
let engine: RunningMockEngine;

beforeAll(async () => {
  engine = await startMockEngine({ gpu: 'l20', timeScale: SCALE, port: 0, seed: 1 });
});
afterAll(async () => {
  await engine.close();
});

function options(over: Partial<ProfilerOptions> = {}): ProfilerOptions {
  return {
    endpoint: engine.url,
    model: 'mock-llama-3-8b',
    gpu: 'l20',
    cost: 1.2,
    slo: { e2e: 30, statistic: 'mean' },
    inputs: [64, 32],
    outputs: [8, 4],
    rates: [8, 2],
    requests: 6,
    pointTimeoutS: 60,
    timeScale: SCALE,
    now: () => 1_700_000_000,
    ...over,
  };
}

const sig = (x: number) => Number(x.toPrecision(4));

describe('runProfiler against a mock engine', () => {
  it('measures every point of a 2 × 2 × 2 sweep and builds the profile by the cell rule', async () => {
    const progress: ProfileProgress[] = [];
    const { rows, profile } = await runProfiler(options({ fullSweep: true, onProgress: (p) => progress.push(p) }));
    expect(rows).toHaveLength(8);
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.every((p) => p.total === 8)).toBe(true);

    // Shapes as asked: exact prompt lengths (token ids) and output lengths (max_tokens).
    for (const r of rows) {
      expect(r.completed + r.failed).toBe(6);
      expect(r.failed).toBe(0);
      expect(r.promptTokens).toBe(r.input);
      expect(r.completionTokens).toBe(r.output);
      // Model time, not wall time: every request takes at least one step overhead per output token.
      expect(r.e2e.min).toBeGreaterThanOrEqual((r.output * (GPU_PROFILES.l20?.stepOverheadMs ?? 0)) / 1000);
      expect(r.ttft?.min).toBeGreaterThan(0);
      expect(r.tpot?.mean).toBeGreaterThan(0);
    }

    expect(profile.indexes).toEqual([[4, 8], [32, 64]]);
    expect(profile).toMatchObject({ gpu: 'l20', model: 'mock-llama-3-8b', cost: 1.2, created: 1_700_000_000, slos: { e2e: 30 } });
    for (const [o, output] of [4, 8].entries()) {
      for (const [i, input] of [32, 64].entries()) {
        const cellRows: ProfileRow[] = rows.filter((r) => r.input === input && r.output === output);
        const chosen = chooseCellRow(cellRows, options().slo);
        expect(profile.tputs[o]?.[i]).toBe(chosen === undefined ? 0 : sig(chosen.tput));
        expect(profile.e2e[o]?.[i]).toBe(chosen === undefined ? 0 : sig(chosen.e2e.mean));
      }
    }

    const parsed = parseProfile(JSON.stringify(profile), 'measured');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.profile.grid).toEqual({ outputs: [4, 8], inputs: [32, 64] });
    expect(parsed.profile.ttft).toBeDefined();
  });

  it('writes 0 for cells no rate can serve within the SLO, and skips the rates above a miss', async () => {
    const progress: ProfileProgress[] = [];
    const { rows, profile } = await runProfiler(options({ slo: { e2e: 0.001, ttft: 0.001, statistic: 99 }, onProgress: (p) => progress.push(p) }));
    expect(rows).toHaveLength(4); // one rate per cell: the lowest missed, so the higher one cannot do better
    expect(rows.every((r) => r.rate === 2)).toBe(true);
    expect(progress.filter((p) => p.row === undefined)).toHaveLength(4);
    expect(profile.tputs).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(profile.slos).toEqual({ percentile: 99, e2e: 0.001, ttft: 0.001 });
  });

  it('gives each point the same arrivals and prompts whatever was skipped before it', async () => {
    const grid = { inputs: [32], outputs: [4, 8, 16], rates: [1, 2] };
    const all = await runProfiler(options({ ...grid, fullSweep: true }));
    // A failure at (out 8, rate 1) fails that point, so (out 8, rate 2) is skipped.
    const skipped = await runProfiler(options({ ...grid, onProgress: (p) => p.done === 2 && engine.failNext({ mode: 'status', status: 500, count: 1 }) }));
    expect(skipped.rows.map((r) => [r.output, r.rate])).toEqual([[4, 1], [4, 2], [8, 1], [16, 1], [16, 2]]);
    const seedOf = (rows: readonly ProfileRow[], output: number, rate: number) => rows.find((r) => r.output === output && r.rate === rate)?.seed;
    expect(seedOf(skipped.rows, 16, 1)).toBe(seedOf(all.rows, 16, 1));
    expect(seedOf(skipped.rows, 16, 2)).toBe(seedOf(all.rows, 16, 2));
    expect(new Set(all.rows.map((r) => r.seed)).size).toBe(6);
  });

  it('profiles through /v1/chat/completions with one short word per token', async () => {
    const { rows } = await runProfiler(options({ api: 'chat', inputs: [64], outputs: [4], rates: [2] }));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ failed: 0, completionTokens: 4 });
    // The mock engine counts the chat template too (<|user|>…\n): a few tokens over the words.
    expect(rows[0]?.promptTokens).toBeGreaterThanOrEqual(64);
    expect(rows[0]?.promptTokens).toBeLessThanOrEqual(68);
  });

  it('counts failed requests against the point: it never meets the SLO', async () => {
    // Armed after the first point, so the preflight and that point go through.
    const { rows } = await runProfiler(options({ inputs: [32], outputs: [4], rates: [1, 2], fullSweep: true, onProgress: (p) => p.done === 1 && engine.failNext({ mode: 'status', status: 500, count: 2 }) }));
    expect(rows[0]).toMatchObject({ failed: 0, completed: 6 });
    expect(rows[1]).toMatchObject({ failed: 2, completed: 4 });
  });
});

describe('profiler errors name the fix', () => {
  it('an endpoint nobody listens on', async () => {
    const closed = await startMockEngine({ port: 0, latency: false });
    const url = closed.url;
    await closed.close();
    const err = await runProfiler(options({ endpoint: url })).catch((e: unknown) => e);
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_PROFILER_ENDPOINT')).toBe(true);
    expect((err as Error).message).toMatch(/cannot reach .*\/v1\/models.*is the engine running/);
  });

  it('a model the endpoint does not serve, listing the ones it does', async () => {
    const err = await runProfiler(options({ model: 'llama-70b' })).catch((e: unknown) => e);
    expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_PROFILER_MODEL')).toBe(true);
    expect((err as Error).message).toContain('it serves mock-llama-3-8b');
  });

  it('an endpoint that is not a URL, and base URLs with or without /v1', () => {
    expect(() => endpointBase('localhost:8000')).toThrow(/http or https|not a URL/);
    expect(endpointBase('http://h:1/v1/').href).toBe('http://h:1/');
    expect(endpointBase('http://h:1/prefix').href).toBe('http://h:1/prefix/');
  });
});
