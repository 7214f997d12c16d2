// The router follows the optimizer's split: a request's shape picks a GPU type with the plan's share
// for its cell (deterministically, shares met within one request at every point), the policy then
// chooses among that type's engines; no routable engine of the type, no plan, another model or an
// unplanned shape leave the candidates as they are.
import { describe, expect, it } from 'vitest';
import { testMetrics } from '../../helpers/apps.js';
import { DecayedLoadMonitor } from '../../../src/coordinator/optimizer/load-monitor.js';
import { Planner, type PlannerSettings } from '../../../src/coordinator/optimizer/planner.js';
import type { ModelResult } from '../../../src/coordinator/optimizer/planner.js';
import { registerRouteSplitMetrics, RouteSplit, type SplitPlans } from '../../../src/coordinator/optimizer/route-split.js';
import { solvePlan } from '../../../src/coordinator/optimizer/solver.js';
import type { GridLoad, PlanSolution, ProfileGrid } from '../../../src/coordinator/optimizer/types.js';
import { gpuSpeed } from '../../../src/coordinator/engines/gpu-speed.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';
import { Router } from '../../../src/coordinator/router/router.js';
import type { EngineState, RouteRequest } from '../../../src/coordinator/router/types.js';

const GRID: ProfileGrid = { outputs: [8, 128], inputs: [256, 2048] };
// Cells: 0 = (out 8, in 256), 1 = (8, 2048), 2 = (128, 256), 3 = (128, 2048).

function result(split: PlanSolution['split'], model = 'llama', over: Partial<ModelResult> = {}): ModelResult {
  const load: GridLoad = { grid: GRID, rate: 10, shares: new Float64Array(4), clamped: 0, observed: 1 };
  return { model, status: 'optimal', at: 0, grid: GRID, load, target: {}, cost: 0, solveMs: 1, split, binding: [], caps: {}, ...over };
}

function plans(results: ModelResult[], at = 1): SplitPlans & { results: ModelResult[]; at: number | undefined } {
  const p = {
    results,
    at: at as number | undefined,
    get planAt() {
      return p.at;
    },
    modelResults: () => p.results,
  };
  return p;
}

function engine(name: string, gpu: string, healthy = true): EngineState {
  return { uid: name, name, url: `http://${name}`, models: ['llama'], speed: gpuSpeed(gpu), healthy, load: { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 } };
}

const req = (promptTokens: number, maxTokens?: number, model = 'llama'): RouteRequest => ({ model, prompt: 'x'.repeat(promptTokens), promptTokens, ...(maxTokens !== undefined && { maxTokens }) });

const FLEET = [engine('l20-0', 'l20'), engine('a10-0', 'a10'), engine('l20-1', 'l20'), engine('a10-1', 'a10')];

describe('RouteSplit', () => {
  it('meets the plan\'s shares for a cell exactly over time, and within one request at every point', () => {
    const split = new RouteSplit({ plans: plans([result([{ cell: 0, shares: { a10: 0.75, l20: 0.25 } }])]) });
    const taken = { a10: 0, l20: 0 };
    for (let n = 1; n <= 400; n++) {
      const c = split.filter(req(250, 8), FLEET);
      const type = c?.label as 'a10' | 'l20';
      expect(c?.engines.every((e) => e.speed.gpuType === type)).toBe(true);
      expect(c?.engines).toHaveLength(2);
      taken[type]++;
      expect(Math.abs(taken.a10 - 0.75 * n)).toBeLessThan(1);
      expect(Math.abs(taken.l20 - 0.25 * n)).toBeLessThan(1);
    }
    expect(taken).toEqual({ a10: 300, l20: 100 });
    expect(split.decisions().sort((x, y) => x.type.localeCompare(y.type))).toEqual([
      { model: 'llama', type: 'a10', result: 'followed', n: 300 },
      { model: 'llama', type: 'l20', result: 'followed', n: 100 },
    ]);
  });

  it('finds the cell from the prompt tokens and max_tokens, else the monitor\'s mean output, else the smallest output tick', () => {
    const results = [result([{ cell: 0, shares: { a10: 1 } }, { cell: 1, shares: { l20: 1 } }, { cell: 3, shares: { a10: 0.5, l20: 0.5 } }, { cell: 2, shares: { l20: 1 } }])];
    const seen: { mean?: number } = {};
    const split = new RouteSplit({ plans: plans(results), meanOutput: () => seen.mean });
    expect(split.filter(req(300, 10), FLEET)?.label).toBe('a10'); // (8, 256)
    expect(split.filter(req(1800, 5), FLEET)?.label).toBe('l20'); // (8, 2048)
    expect(split.filter(req(200, 200), FLEET)?.label).toBe('l20'); // (128, 256)
    expect(split.filter(req(200), FLEET)?.label).toBe('a10'); // no max_tokens, no mean: out 8
    seen.mean = 90;
    expect(split.filter(req(200), FLEET)?.label).toBe('l20'); // mean 90 → out 128
    expect(split.filter(req(200, 0), FLEET)?.label).toBe('l20'); // max_tokens 0 says nothing
    // Beyond the grid: clamped to the edge cell, as the monitor plans it.
    expect(split.filter(req(100_000, 100_000), FLEET)?.engines).toHaveLength(2);
  });

  it('falls back to every candidate when no engine of the picked type is routable, and counts it', () => {
    const split = new RouteSplit({ plans: plans([result([{ cell: 0, shares: { l20: 1 } }])]) });
    const a10s = FLEET.filter((e) => e.speed.gpuType === 'a10');
    const c = split.filter(req(256, 8), a10s);
    expect(c).toEqual({ engines: a10s, label: 'l20:fallback' });
    expect(split.decisions()).toEqual([{ model: 'llama', type: 'l20', result: 'fallback', n: 1 }]);
  });

  it('leaves requests alone without a plan, for a model without a split, and names shapes the plan has no share for', () => {
    const p = plans([], undefined);
    const split = new RouteSplit({ plans: p });
    expect(split.filter(req(256, 8), FLEET)).toBeUndefined();
    p.results = [result([{ cell: 0, shares: { l20: 1 } }]), result([], 'minimal', { status: 'minimums' })];
    p.at = 2;
    expect(split.filter(req(256, 8, 'mistral'), FLEET)).toBeUndefined();
    expect(split.filter(req(256, 8, 'minimal'), FLEET)).toBeUndefined();
    expect(split.filter(req(256, 8), FLEET)?.label).toBe('l20');
    expect(split.filter(req(2048, 128), FLEET)).toEqual({ engines: FLEET, label: 'unplanned' });
    expect(split.decisions()).toContainEqual({ model: 'llama', type: 'none', result: 'unplanned', n: 1 });
  });

  it('follows each new plan as it is committed', () => {
    const p = plans([result([{ cell: 0, shares: { l20: 1 } }])]);
    const split = new RouteSplit({ plans: p });
    expect(split.filter(req(256, 8), FLEET)?.label).toBe('l20');
    p.results = [result([{ cell: 0, shares: { a10: 1 } }])];
    expect(split.filter(req(256, 8), FLEET)?.label).toBe('l20'); // same round: the table stays
    p.at = 2;
    expect(split.filter(req(256, 8), FLEET)?.label).toBe('a10');
  });

  it('matches engines to a type named after a deployment (llama-7b-a100) by its GPU word', () => {
    const split = new RouteSplit({ plans: plans([result([{ cell: 0, shares: { 'llama-7b-a100': 1 } }])]) });
    const fleet = [engine('a', 'NVIDIA-A100-SXM4-80GB'), engine('b', 'a10'), engine('c', 'h100')];
    expect(split.filter(req(256, 8), fleet)).toEqual({ engines: [fleet[0]], label: 'llama-7b-a100' });
  });

  it('serves brixlet_router_split_decisions_total', async () => {
    const metrics = testMetrics();
    const split = new RouteSplit({ plans: plans([result([{ cell: 0, shares: { l20: 1 } }])]) });
    registerRouteSplitMetrics(metrics, split);
    split.filter(req(256, 8), FLEET);
    split.filter(req(256, 8), FLEET.slice(1, 2));
    const text = await metrics.registry.metrics();
    expect(text).toContain('brixlet_router_split_decisions_total{model="llama",type="l20",result="followed"} 1');
    expect(text).toContain('brixlet_router_split_decisions_total{model="llama",type="l20",result="fallback"} 1');
  });
});

describe('the router with the split before its policy', () => {
  it('routes within the picked type by its policy and names the split in the decision', () => {
    const split = new RouteSplit({ plans: plans([result([{ cell: 0, shares: { a10: 0.5, l20: 0.5 } }])]) });
    const router = new Router({ defaultPolicy: 'least-request', prefix: createPrefixIndex({ blockTokens: 16, capacity: 1024 }), random: () => 0.5, filter: split });
    const fleet = FLEET.map((e) => engine(e.name, e.speed.gpuType));
    const seen: string[] = [];
    for (let k = 0; k < 8; k++) {
      const d = router.route(req(256, 8), fleet);
      expect(d.split).toBe(d.engine.speed.gpuType);
      seen.push(d.engine.name);
    }
    // Half to each type, and least-request spreads each type's half over its two engines.
    expect(fleet.map((e) => e.load.inFlight)).toEqual([2, 2, 2, 2]);
    // A model without a plan: the policy alone, no split named.
    const other = router.route(req(256, 8, 'mistral'), fleet);
    expect(other.split).toBeUndefined();
    router.setCandidateFilter(undefined);
    expect(router.route(req(256, 8), fleet).split).toBeUndefined();
    expect(seen).toHaveLength(8);
  });
});

describe('with a real planner on HiGHS', () => {
  it('routes each shape over the GPU types as the solved split says', async () => {
    const settings: PlannerSettings = { model: 'split', intervalMs: 10_000, scaleDownWindowMs: 0, timeLimitMs: 5000, headroom: 1, switchingCostPercent: 0, available: { l20: 8 }, minimums: {}, namespace: 'default', debounceMs: 0 };
    const monitor = new DecayedLoadMonitor();
    const now = 1_700_000_000_000;
    const planner = new Planner({ settings, load: monitor, solve: solvePlan, now: () => now });
    // a10 is cheaper per request for short prompts; l20 alone serves long ones.
    planner.setProfiles('llama', [
      { profile: { gpu: 'a10', model: 'llama', cost: 0.3, grid: GRID, tputs: Float64Array.from([10, 0, 3, 0]) }, warnings: [], source: 'a10.json' },
      { profile: { gpu: 'l20', model: 'llama', cost: 1, grid: GRID, tputs: Float64Array.from([12, 8, 10, 2]) }, warnings: [], source: 'l20.json' },
    ]);
    for (let k = 0; k < 400; k++) {
      monitor.arrived('llama', now - k * 25);
      monitor.record('llama', k % 2 === 0 ? 256 : 2048, 8, now - k * 25);
    }
    planner.tick(now);
    await planner.idle();
    planner.dispose();
    const r = planner.modelResults()[0]!;
    expect(r.status).toBe('optimal');
    expect(r.split.length).toBeGreaterThan(0);
    expect(monitor.meanOutput('llama')).toBeCloseTo(8, 9);
    expect(monitor.meanOutput('mistral')).toBeUndefined();
    const split = new RouteSplit({ plans: planner, meanOutput: (m) => monitor.meanOutput(m) });
    for (const cell of r.split) {
      const input = GRID.inputs[cell.cell % 2]!;
      const taken: Record<string, number> = {};
      for (let k = 0; k < 100; k++) {
        const c = split.filter(req(input), FLEET)!;
        taken[c.label] = (taken[c.label] ?? 0) + 1;
      }
      for (const [type, share] of Object.entries(cell.shares)) expect(Math.abs((taken[type] ?? 0) - 100 * share)).toBeLessThanOrEqual(1);
    }
    // Long prompts only l20 serves.
    expect(split.filter(req(2048), FLEET)?.label).toBe('l20');
  }, 30_000);
});
