import { describe, expect, it } from 'vitest';
import { runDiagnose } from '../../../src/accel/diagnose/run-diagnose.js';
import { deviceLabel, renderDiagnoseTable, summaryLine } from '../../../src/cli/commands/diagnose-table.js';
import { createStyle } from '../../../src/cli/style.js';
import { device, gpus, snapshot } from '../../accel/diagnose/fixtures.js';

const plain = createStyle({ isTTY: false }, {});
const tty = createStyle({ isTTY: true }, {});
const report = (devices = gpus(2, { 1: { sample: { remapFailure: true } } })) => runDiagnose({ level: 1, snapshot: snapshot(devices), expectedCount: 0, xidIgnore: [] });

describe('diagnose table', () => {
  it('labels node, vendor-node and device rows', () => {
    expect(deviceLabel({ device: null, vendor: null })).toBe('node');
    expect(deviceLabel({ device: null, vendor: 'ascend' })).toBe('node/ascend');
    expect(deviceLabel({ device: 3, vendor: 'nvidia' })).toBe('gpu3');
    expect(deviceLabel({ device: 5, vendor: 'ascend' })).toBe('npu5');
  });

  it('aligns every column and leaves colour out when not on a TTY', () => {
    const text = renderDiagnoseTable(report(), plain);
    const lines = text.trimEnd().split('\n');
    const header = lines[0]!;
    for (const col of ['CHECK', 'STATUS', 'ACTION', 'OBSERVED', 'EXPECTED', 'MESSAGE']) {
      const at = header.indexOf(col);
      for (const row of lines.slice(1, -1)) expect(row[at - 1], `${col} in ${row}`).toBe(' ');
    }
    expect(text).not.toContain('\x1b[');
  });

  it('shows only problems on request and colours FAIL red on a TTY', () => {
    const text = renderDiagnoseTable(report(), tty, { problemsOnly: true });
    const rows = text.trimEnd().split('\n').slice(1, -1);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain('\x1b[31mFAIL');
  });

  it('summarises counts, devices and the verdict', () => {
    expect(summaryLine(report(), plain)).toBe('FAIL: 30 pass, 0 warn, 1 fail, 1 skip — 2 device(s) on gpu-node-1, level 1');
    expect(summaryLine(report([device('ascend', 0, { sample: { npuHealth: 1 } })]), plain)).toMatch(/^PASS with warnings: /);
  });
});
