import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDiagnoseRoutes } from '../../../src/agent/diagnose-routes.js';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { cli } from '../../helpers/cli.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { gpus, snapshot } from '../../accel/diagnose/fixtures.js';

describe('brixlet diagnose (local, sim backend)', () => {
  it('exits 0 on a healthy node and prints one row per check with a summary', async () => {
    const { code, stdout, stderr } = await cli(['diagnose', '--accel', 'sim:healthy-8x-h100', '--expected-count', '8']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+CHECK\s+STATUS\s+ACTION\s+OBSERVED\s+EXPECTED\s+MESSAGE$/);
    expect(lines.filter((l) => l.startsWith('gpu7 '))).toHaveLength(15);
    expect(lines.find((l) => l.startsWith('node/nvidia'))).toMatch(/driver\s+PASS\s+none\s+sim nvidia up, driver 550\.54\.15/);
    expect(lines.at(-1)).toBe('PASS: 122 pass, 0 warn, 0 fail, 0 skip — 8 device(s) on ' + lines.at(-1)!.split(' on ')[1]);
    // Columns line up: every row has STATUS where the header has it.
    const col = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1, -1)) expect(l.slice(col, col + 4)).toMatch(/PASS|WARN|FAIL|SKIP/);
    expect(stdout).not.toContain('\x1b[');
  });

  it('exits 1 when a check fails and --problems shows only the problem rows', async () => {
    const { code, stdout } = await cli(['diagnose', '--accel', 'sim:ecc-dbe-xid48', '--problems']);
    expect(code).toBe(1);
    const rows = stdout.trimEnd().split('\n').slice(1, -1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'node device-count SKIP',
      'gpu2 ecc-volatile FAIL',
      'gpu2 ecc-aggregate WARN',
      'gpu2 row-remap WARN',
      'gpu2 recovery-action FAIL',
      'gpu2 xid FAIL',
    ]);
    expect(stdout).toMatch(/^FAIL: 116 pass, 2 warn, 3 fail, 1 skip/m);
  });

  it('--json prints the report; warnings alone still exit 0', async () => {
    const { code, stdout } = await cli(['diagnose', '--accel', 'sim:thermal-slowdown', '--json', '--accel.expected-count', '8']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ level: 1, summary: { pass: 120, warn: 2, fail: 0, skip: 0 } });
    expect(report.results.filter((r: { status: string }) => r.status === 'warn').map((r: { check: string; device: number }) => `${r.device}:${r.check}`)).toEqual(['4:temperature', '4:clock-events']);
  });

  it('colours the status only on a TTY', async () => {
    const { stdout } = await cli(['diagnose', '--accel', 'sim:row-remap-failure-xid64', '--problems'], {}, true);
    expect(stdout).toContain('\x1b[31m');
    expect(stdout).toContain('FAIL');
  });

  it('level 2 samples twice across the window', async () => {
    const { code, stdout } = await cli(['diagnose', '--accel', 'sim:healthy-8x-ascend910b', '--level', '2', '--window', '100ms', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.level).toBe(2);
    expect(report.windowMs).toBeGreaterThanOrEqual(100);
  });

  it('fails the driver check when the scenario has no library at all', async () => {
    const { code, stdout } = await cli(['diagnose', '--accel', 'sim:nvml-lib-absent', '--problems']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/node\s+driver\s+FAIL\s+reinstall-driver/);
  });

  it.each([
    [['--level', '3'], '--level must be 1 or 2'],
    [['--window', '1h', '--level', '2'], '--window must be a duration'],
    [['--expected-count', 'eight'], '--expected-count must be an integer'],
    [['--agent', 'not a url'], '--agent must be a URL'],
    [['--accel', 'sim:no-such-scenario'], 'no-such-scenario'],
  ])('exits 2 on bad input %j', async (args, text) => {
    const { code, stderr } = await cli(['diagnose', ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain(text);
  });

  it('documents the exit codes in --help', async () => {
    const { stdout } = await cli(['diagnose', '--help']);
    expect(stdout).toContain('0 when no check failed');
    expect(stdout).toContain('--expected-count');
  });
});

describe('brixlet diagnose --agent', () => {
  let app: BrixletServer;
  let url: string;
  let broken = false;

  beforeAll(async () => {
    app = await createServer({ name: 'agent', title: 'test', version: '0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    const sampler = {
      sampleNow: async () => {
        if (broken) throw new Error('library closed');
        return snapshot(gpus(2, { 1: { sample: { remapFailure: true } } }));
      },
    };
    registerDiagnoseRoutes(app, { sampler, expectedCount: 0, xidIgnore: [] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  it('asks the agent, passes the expected count along and exits by its result', async () => {
    const { code, stdout } = await cli(['diagnose', '--agent', url, '--expected-count', '3', '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.results.find((r: { check: string }) => r.check === 'device-count')).toMatchObject({ status: 'fail', expected: '3' });
    expect(report.results.find((r: { check: string; device: number }) => r.check === 'row-remap' && r.device === 1)).toMatchObject({ status: 'fail', action: 'reset-gpu' });
  });

  it('exits 2 with BRX_ERR_DIAGNOSE_AGENT when the agent answers an error', async () => {
    broken = true;
    try {
      const { code, stderr } = await cli(['diagnose', '--agent', url]);
      expect(code).toBe(2);
      expect(stderr).toContain('BRX_ERR_DIAGNOSE_AGENT');
      expect(stderr).toContain('HTTP 503');
      expect(stderr).toContain('library closed');
    } finally {
      broken = false;
    }
  });

  it('exits 2 with BRX_ERR_DIAGNOSE_AGENT when nothing listens', async () => {
    const closed = createNetServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const { code, stderr } = await cli(['diagnose', '--agent', `http://127.0.0.1:${port}`]);
    expect(code).toBe(2);
    expect(stderr).toContain('BRX_ERR_DIAGNOSE_AGENT');
    expect(stderr).toContain('ECONNREFUSED');
  });
});
