import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/repo.js';

const profiles = join(process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'), 'profiles');
const A100 = join(profiles, 'simulator-llama2-7b-a100.json');
const A40 = join(profiles, 'simulator-llama2-7b-a40.json');
const have = existsSync(A100) && existsSync(A40);

const dir = mkdtempSync(join(tmpdir(), 'brixlet-optimize-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
};
const workload = (rate: number) =>
  file(`w${rate}.json`, {
    rate,
    cells: [
      { output: 8, input: 256, share: 0.5 },
      { output: 64, input: 1024, share: 0.3 },
      { output: 128, input: 2048, share: 0.2 },
      { output: 4096, input: 100, share: 0 },
    ],
  });

describe.skipIf(!have)(`brixlet optimize on AIBrix's simulator profiles${have ? '' : ` (SKIPPED: ${profiles} not found; set BRIXLET_TESTDATA)`}`, () => {
  it('reproduces the worked example row A100 0.4, A40 0.3, Λ = 60 (JSON, slice model, with AIBrix pipeline)', async () => {
    const r = await cli(['optimize', '--profile', A100, '--profile', A40, '--workload', workload(60), '--model', 'slice', '--cost', 'simulator-llama2-7b-a100=0.4', '--compare', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'optimal', model: 'slice', counts: { 'simulator-llama2-7b-a100': 4, 'simulator-llama2-7b-a40': 7 } });
    expect(out.cost).toBeCloseTo(3.7, 9);
    expect(out.compare.aibrix.units).toEqual({ 'simulator-llama2-7b-a100': 236, 'simulator-llama2-7b-a40': 864 });
    expect(out.compare.aibrix.counts).toEqual({ 'simulator-llama2-7b-a100': 3, 'simulator-llama2-7b-a40': 9 });
    expect(out.compare.aibrix.cost).toBeCloseTo(3.9, 9);
    expect(out.compare.bestSingle).toMatchObject({ type: 'simulator-llama2-7b-a40', count: 13 });
    expect(out.split).toHaveLength(3);
    expect(out.split[0]).toMatchObject({ output: 8, input: 256, share: 0.5 });
    // The zero-share shape beyond the grid is still reported as clamped.
    expect(out.clamped).toEqual(['cells[3] output 4096 × input 100 is outside the grid; counted at output 512 × input 128']);
  });

  it('prints a table: counts, cost, the split per loaded shape, solve time and status', async () => {
    const r = await cli(['optimize', '--profile', A100, '--profile', A40, '--workload', workload(20)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^plan: optimal \(split model\), solved in [\d.]+ ms$/m);
    expect(r.stdout).toMatch(/^simulator-llama2-7b-a40\s+5\s+0\.3\s+1\.5$/m);
    expect(r.stdout).toMatch(/^total\s+5\s+1\.5$/m);
    expect(r.stdout).toMatch(/output 8 × input 256\s+50\.0% of load {2}→ simulator-llama2-7b-a40 100\.0%/);
  });

  it('honours --available and says why when no plan fits', async () => {
    const r = await cli(['optimize', '--profile', A100, '--profile', A40, '--workload', workload(60), '--available', 'simulator-llama2-7b-a40=4,simulator-llama2-7b-a100=2', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('infeasible');
    expect(out.message).toMatch(/availability caps/);
  });

  it('names a loaded cell no profile can serve', async () => {
    const w = file('dead.json', { rate: 5, cells: [{ output: 512, input: 2048, share: 1 }] });
    const r = await cli(['optimize', '--profile', A100, '--workload', w]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('output 512 × input 2048');
  });

  it.each([
    ['a profile that is not JSON', () => ['--profile', file('bad.json', '{"gpu":'), '--profile', A40, '--workload', workload(20)], 'BRX_ERR_OPTIMIZER_PROFILE', 2],
    ['a negative cost', () => ['--profile', file('neg.json', { gpu: 'x', cost: -1, indexes: [[4], [128]], tputs: [[1]] }), '--workload', workload(20)], 'BRX_ERR_OPTIMIZER_PROFILE', 2],
    ['mismatched grids', () => ['--profile', A100, '--profile', file('g.json', { gpu: 'x', cost: 1, indexes: [[4], [128]], tputs: [[1]] }), '--workload', workload(20)], 'BRX_ERR_OPTIMIZER_GRID_MISMATCH', 2],
    ['a bad workload', () => ['--profile', A100, '--workload', file('w.json', { rate: -3, cells: [] })], 'BRX_ERR_OPTIMIZER_WORKLOAD', 2],
    ['a missing file', () => ['--profile', join(dir, 'nope.json'), '--workload', workload(20)], 'BRX_ERR_OPTIMIZER_PROFILE', 2],
    ['a cap on an unknown type', () => ['--profile', A100, '--workload', workload(20), '--available', 'h100=3'], 'BRX_ERR_OPTIMIZER_PROBLEM', 2],
    ['a bad headroom', () => ['--profile', A100, '--workload', workload(20), '--headroom', '1.5'], 'BRX_ERR_OPTIMIZER_PROBLEM', 2],
    ['no profile', () => ['--workload', workload(20)], 'BRX_ERR_CLI_USAGE', 2],
    ['a bad model', () => ['--profile', A100, '--workload', workload(20), '--model', 'fast'], 'BRX_ERR_CLI_USAGE', 2],
    ['a bad count', () => ['--profile', A100, '--workload', workload(20), '--available', 'a=1.5'], 'BRX_ERR_CLI_USAGE', 2],
  ])('%s → exit code and error code', async (_name, argv, code, exit) => {
    const r = await cli(['optimize', ...argv()]);
    expect(r.code).toBe(exit);
    expect(r.stderr).toContain(`[${code}]`);
  });
});

it('documents the workload format in --help', async () => {
  const r = await cli(['optimize', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('{"rate": 20, "cells": [{"output": 8, "input": 256, "share": 0.5}');
  expect(r.stdout).toContain('--profile FILE');
});
