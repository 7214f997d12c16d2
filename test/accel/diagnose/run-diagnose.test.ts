import { describe, expect, it } from 'vitest';
import { DiagnoseReport } from '../../../src/accel/diagnose/diagnose-report.js';
import { DEVICE_CHECKS, runDiagnose } from '../../../src/accel/diagnose/run-diagnose.js';
import { Value } from '@sinclair/typebox/value';
import { dcmiUp, device, gpus, nvmlUp, snapshot } from './fixtures.js';

const IGNORE = [13, 31, 43, 45, 68, 109];

describe('runDiagnose', () => {
  it('reports a healthy node as all pass, in schema', () => {
    const report = runDiagnose({ level: 1, snapshot: snapshot(gpus(2)), expectedCount: 2, xidIgnore: IGNORE });
    expect(Value.Check(DiagnoseReport, report)).toBe(true);
    expect(report).toMatchObject({ level: 1, node: 'gpu-node-1', at: '2025-01-01T12:00:00.000Z' });
    expect(report.summary).toEqual({ pass: 2 + 2 * DEVICE_CHECKS.nvidia.length, warn: 0, fail: 0, skip: 0 });
    expect(report).not.toHaveProperty('windowMs');
  });

  it('orders node-level results first, then NVIDIA and Ascend devices by index, checks in a fixed order', () => {
    const devices = [device('ascend', 1), device('nvidia', 1), device('ascend', 0), device('nvidia', 0)];
    const report = runDiagnose({ level: 1, snapshot: snapshot(devices), expectedCount: 4, xidIgnore: IGNORE });
    const keys = report.results.map((r) => `${r.vendor ?? '-'}:${r.device ?? '-'}`);
    const firstOf = (k: string) => keys.indexOf(k);
    expect(keys.slice(0, 3)).toEqual(['nvidia:-', 'ascend:-', '-:-']);
    expect(firstOf('nvidia:0')).toBeLessThan(firstOf('nvidia:1'));
    expect(firstOf('nvidia:1')).toBeLessThan(firstOf('ascend:0'));
    expect(firstOf('ascend:0')).toBeLessThan(firstOf('ascend:1'));
    expect(report.results.filter((r) => r.vendor === 'nvidia' && r.device === 0).map((r) => r.check)).toEqual(DEVICE_CHECKS.nvidia.map((c) => c.name));
    expect(report.results.filter((r) => r.vendor === 'ascend' && r.device === 1).map((r) => r.check)).toEqual(DEVICE_CHECKS.ascend.map((c) => c.name));
    expect(report.results.find((r) => r.device === 1 && r.vendor === 'ascend')?.uuid).toBe('NPU-1');
  });

  it('derives severity from status and counts the summary', () => {
    const bad = gpus(3, { 1: { sample: { pcieWidth: 8, remapFailure: true } }, 2: { sample: { remapFailure: undefined }, unsupported: [] } });
    const report = runDiagnose({ level: 1, snapshot: snapshot(bad, { backends: [nvmlUp, dcmiUp] }), expectedCount: 3, xidIgnore: IGNORE });
    const width = report.results.find((r) => r.device === 1 && r.check === 'pcie-width');
    const remap = report.results.find((r) => r.device === 1 && r.check === 'row-remap');
    expect(remap).toMatchObject({ status: 'fail', severity: 'critical' });
    expect(width).toMatchObject({ status: 'warn', severity: 'warning' });
    expect(report.summary.fail).toBe(1);
    expect(report.summary.warn).toBe(1);
    expect(report.summary.pass + report.summary.warn + report.summary.fail + report.summary.skip).toBe(report.results.length);
  });

  it('level 2 compares two snapshots: window, deltas and new XIDs', () => {
    const t0 = Date.UTC(2025, 0, 1);
    const first = snapshot(gpus(1, { 0: { sample: { pcieReplayCount: 10 } } }), { at: t0 });
    const unhealthy = { state: 'unhealthy' as const, reasons: ['XID 48 (Double bit ECC error)'], since: t0 + 1000 };
    const second = snapshot(gpus(1, { 0: { sample: { pcieReplayCount: 25 }, recentXids: [{ xid: 48, at: t0 + 1000 }], health: unhealthy } }), { at: t0 + 2000, seq: 2 });
    const report = runDiagnose({ level: 2, snapshot: first, later: second, expectedCount: 1, xidIgnore: IGNORE });
    expect(report.windowMs).toBe(2000);
    expect(report.at).toBe(new Date(t0 + 2000).toISOString());
    expect(report.results.find((r) => r.check === 'pcie-replay')).toMatchObject({ status: 'warn', observed: '+15 in 2 s (total 25)' });
    expect(report.results.find((r) => r.check === 'xid')).toMatchObject({ status: 'fail', observed: '48 (new)', action: 'reset-gpu' });
  });

  it('level 2 fails a device that disappeared during the window', () => {
    const first = snapshot(gpus(2));
    const second = snapshot(gpus(1), { at: first.at + 2000 });
    const report = runDiagnose({ level: 2, snapshot: first, later: second, expectedCount: 2, xidIgnore: IGNORE });
    expect(report.results.at(-1)).toMatchObject({ check: 'device-access', device: 1, status: 'fail', observed: 'disappeared during the window' });
    expect(report.results.find((r) => r.check === 'device-count')?.status).toBe('fail');
  });

  it('level 1 ignores a later snapshot', () => {
    const first = snapshot(gpus(1));
    const report = runDiagnose({ level: 1, snapshot: first, later: snapshot([], { at: first.at + 1 }), expectedCount: 0, xidIgnore: IGNORE });
    expect(report.results.some((r) => r.device === 0)).toBe(true);
  });
});
