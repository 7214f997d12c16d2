import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIAGNOSE_ACTIONS, DiagnoseReport, DiagnoseResult } from '../../../src/accel/diagnose/diagnose-report.js';
import { runDiagnose } from '../../../src/accel/diagnose/run-diagnose.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import { Sampler } from '../../../src/accel/sampler.js';
import { openBackends } from '../../../src/accel/select.js';
import { silentLog } from '../../helpers/apps.js';

const XID_IGNORE = [13, 31, 43, 45, 68, 109];
const samplers: Sampler[] = [];

/** A real report: a shipped scenario through the sim backend, the sampler and runDiagnose. */
async function reportOf(scenario: string, level: 1 | 2): Promise<DiagnoseReport> {
  const backends = await openBackends(`sim:${scenario}`, { nvmlLibrary: '', dcmiLibrary: '', log: silentLog });
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'test-node', log: silentLog, xidIgnore: XID_IGNORE });
  samplers.push(sampler);
  await new Promise((r) => setImmediate(r));
  const snapshot = await sampler.sampleNow();
  const later = level === 2 ? await sampler.sampleNow() : undefined;
  return runDiagnose({ level, snapshot, later, expectedCount: 8, xidIgnore: XID_IGNORE });
}

let gpuLost: DiagnoseReport;
let npuFault: DiagnoseReport;

beforeAll(async () => {
  gpuLost = await reportOf('gpu-lost-xid79', 1);
  npuFault = await reportOf('npu-fault', 2);
});
afterAll(() => Promise.all(samplers.map((s) => s.dispose())));

const clone = (r: DiagnoseReport): Record<string, unknown> => JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
const withResult = (r: DiagnoseReport, patch: Record<string, unknown>) => ({ ...clone(r), results: [{ ...r.results[0], ...patch }] });

describe('DiagnoseReport schema', () => {
  it('accepts the reports runDiagnose makes from real scenarios, node-level and device results alike', () => {
    expect(Value.Errors(DiagnoseReport, gpuLost).First()).toBeUndefined();
    expect(Value.Check(DiagnoseReport, npuFault)).toBe(true);
    // the scenarios really exercise failing device results and null (node-level) devices
    expect(gpuLost.results.some((r) => r.status === 'fail' && r.vendor === 'nvidia')).toBe(true);
    expect(npuFault.results.some((r) => r.vendor === 'ascend' && r.status !== 'pass')).toBe(true);
    expect(gpuLost.results.some((r) => r.device === null && r.vendor === null)).toBe(true);
  });

  it('survives a JSON round trip (what `brixlet diagnose --json` reads back)', () => {
    expect(Value.Check(DiagnoseReport, clone(npuFault))).toBe(true);
  });

  it.each([
    ['level 3', (r: DiagnoseReport) => ({ ...clone(r), level: 3 })],
    ['a missing summary', (r: DiagnoseReport) => ({ ...clone(r), summary: undefined })],
    ['a negative count', (r: DiagnoseReport) => ({ ...clone(r), summary: { ...r.summary, fail: -1 } })],
    ['a fractional window', (r: DiagnoseReport) => ({ ...clone(r), windowMs: 1.5 })],
    ['an unknown status', (r: DiagnoseReport) => withResult(r, { status: 'error' })],
    ['an unknown action', (r: DiagnoseReport) => withResult(r, { action: 'panic' })],
    ['an unknown vendor', (r: DiagnoseReport) => withResult(r, { vendor: 'amd' })],
    ['a negative device index', (r: DiagnoseReport) => withResult(r, { device: -1 })],
    ['a result without its message', (r: DiagnoseReport) => withResult(r, { message: undefined })],
  ])('rejects %s', (_what, mutate) => {
    expect(Value.Check(DiagnoseReport, mutate(gpuLost))).toBe(false);
  });

  it('lists every action a check may recommend, each once', () => {
    expect(new Set(DIAGNOSE_ACTIONS).size).toBe(DIAGNOSE_ACTIONS.length);
    const used = new Set([...gpuLost.results, ...npuFault.results].map((r) => r.action));
    for (const action of used) expect(DIAGNOSE_ACTIONS).toContain(action);
    expect(Value.Check(DiagnoseResult, { check: 'x', device: null, vendor: null, status: 'skip', severity: 'info', action: 'reset-npu', observed: '', expected: '', message: '' })).toBe(true);
  });
});
