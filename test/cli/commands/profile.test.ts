// `brixlet profile`: flags checked before anything is sent (errors naming the fix), a run against a
// live mock engine writing the profile file and plain progress lines, and the terminal progress bar.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../../src/cli/commands/profile-progress.js';
import { parseProfile } from '../../../src/coordinator/optimizer/profiles.js';
import { type RunningMockEngine, startMockEngine } from '../../../src/mock-engine/index.js';
import { Capture } from '../../helpers/capture.js';
import { cli } from '../../helpers/cli.js';

const BASE = ['profile', '--endpoint', 'http://127.0.0.1:9', '--model', 'm', '--gpu', 'l20', '--cost', '1'];

describe('brixlet profile flags', () => {
  it.each([
    [['--slo', 'e2e:5'], /--slo: 'e2e:5' is not metric=seconds/],
    [['--slo', 'latency=5'], /e2e, ttft or tpot/],
    [[], /--slo is required \(e\.g\. --slo e2e=5/],
    [['--slo', 'e2e=5', '--percentile', '95'], /--percentile must be mean, 50, 90 or 99/],
    [['--slo', 'e2e=5', '--rates', '1,x'], /--rates must be a comma-separated list of positive numbers/],
    [['--slo', 'e2e=5', '--inputs', '128,1.5'], /--inputs must be a comma-separated list of positive whole numbers/],
    [['--slo', 'e2e=5', '--outputs', '4,4'], /--outputs lists a value twice/],
    [['--slo', 'e2e=5', '--api', 'responses'], /--api must be completions or chat/],
    [['--slo', 'e2e=5', '--requests', '0'], /--requests must be a whole number from 1/],
  ])('%j is a usage error', async (extra, message) => {
    const r = await cli([...BASE, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BRX_ERR_CLI_USAGE');
    expect(r.stderr).toMatch(message);
  });

  it('names each missing required flag with an example', async () => {
    const r = await cli(['profile', '--model', 'm', '--gpu', 'l20', '--cost', '1', '--slo', 'e2e=5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--endpoint is required \(e\.g\. --endpoint http:\/\/localhost:8000\)/);
    expect((await cli(['profile', '--endpoint', 'http://h:1', '--model', 'm', '--gpu', 'l20', '--slo', 'e2e=5'])).stderr).toMatch(/--cost is required/);
  });

  it('says what to do when the endpoint is not there', async () => {
    const r = await cli([...BASE, '--slo', 'e2e=5', '--inputs', '8', '--outputs', '4', '--rates', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BRX_ERR_OPTIMIZER_PROFILER_ENDPOINT');
    expect(r.stderr).toMatch(/--endpoint http:\/\/host:port/);
  });
});

describe('brixlet profile against a mock engine', () => {
  let engine: RunningMockEngine;
  let dir: string;
  beforeAll(async () => {
    engine = await startMockEngine({ gpu: 'a10', timeScale: 20, port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'brixlet-profile-'));
  });
  afterAll(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a profile the optimizer reads, the rows, a table on stdout and one progress line per point on stderr', async () => {
    const out = join(dir, 'sub', 'a10.json');
    const rows = join(dir, 'rows.jsonl');
    const r = await cli([
      'profile', '--endpoint', `${engine.url}/v1`, '--model', 'mock-llama-3-8b', '--gpu', 'a10', '--cost', '0.75', '--slo', 'e2e=60,ttft=30',
      '--inputs', '16,32', '--outputs', '4', '--rates', '1,2', '--requests', '3', '--time-scale', '20', '--full-sweep', '--out', out, '--rows', rows,
    ]);
    expect(r.stderr).toBe(r.stderr.split('\n').filter((l) => l === '' || l.startsWith('point ')).join('\n'));
    expect(r.code).toBe(0);
    expect(r.stderr.match(/^point \d\/4 in (16|32) out 4 @ [12] req\/s: tput .* within SLO/gm)).toHaveLength(4);
    expect(r.stdout).toMatch(/^a10: max req\/s per GPU within the SLO \(e2e 60, ttft 30\)/);
    expect(r.stdout).toContain(`wrote ${out} (4 points measured)`);
    const parsed = parseProfile(readFileSync(out, 'utf8'), out);
    expect(parsed.profile).toMatchObject({ gpu: 'a10', cost: 0.75, model: 'mock-llama-3-8b', grid: { outputs: [4], inputs: [16, 32] } });
    expect(readFileSync(rows, 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it('prints the profile on stdout without --out', async () => {
    const r = await cli(['profile', '--endpoint', engine.url, '--model', 'mock-llama-3-8b', '--gpu', 'a10', '--cost', '0.75', '--slo', 'e2e=60', '--inputs', '16', '--outputs', '4', '--rates', '1', '--requests', '2', '--time-scale', '20', '--no-stream']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(p.indexes).toEqual([[4], [16]]);
    expect(p.ttft).toBeUndefined(); // not streamed: no first-token times
  });
});

describe('progress', () => {
  const point = { done: 3, total: 8, input: 128, output: 64, rate: 4 };
  const row = { input: 128, output: 64, rate: 4, offered: 4.1, sent: 10, completed: 10, failed: 0, tput: 3.9, e2e: { min: 1, mean: 1.5, p50: 1.4, p90: 2, p99: 2.2 } };

  it('redraws one line on a terminal and ends it', () => {
    const err = new Capture(true);
    let t = 0;
    const p = createProgress(err, () => (t += 1000));
    p.update({ ...point, row, met: true, saturated: false });
    p.update({ ...point, done: 4 });
    p.end();
    expect(err.text.startsWith('\r\x1b[K[')).toBe(true);
    expect(err.text.split('\r\x1b[K')).toHaveLength(3);
    expect(err.text).toContain('4/8 in 128 out 64 @ 4 req/s: skipped');
    expect(err.text.endsWith('\n')).toBe(true);
    expect(err.text.split('\n')).toHaveLength(2);
  });

  it('writes plain lines for measured points only when not a terminal', () => {
    const err = new Capture(false);
    const p = createProgress(err);
    p.update({ ...point, row, met: false, saturated: true });
    p.update({ ...point, done: 4 });
    p.end();
    expect(err.text).toBe('point 3/8 in 128 out 64 @ 4 req/s: tput 3.90/s (offered 4.10) e2e 1.50s misses SLO, saturated\n');
  });
});
