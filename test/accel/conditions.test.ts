// The one condition rule set health and diagnose both judge with (the agreement over every scenario
// is test/accel/health-diagnose-agreement.test.ts; these are the rules' own edges).
import { describe, expect, it } from 'vitest';
import { CLOCK_POWER_BRAKE, CONDITION_CHECKS, conditionsOf, evaluateConditions, PCIE_GEN_LOAD_PERCENT, pcieUnderLoad } from '../../src/accel/conditions.js';

describe('condition rules', () => {
  it('judges a PCIe generation below max only under load; width always', () => {
    const link = { pcieGen: 3, pcieGenMax: 5, pcieWidth: 16, pcieWidthMax: 16 };
    expect(pcieUnderLoad({ ...link })).toBe(false);
    expect(pcieUnderLoad({ ...link, gpuUtilPercent: PCIE_GEN_LOAD_PERCENT - 1 })).toBe(false);
    expect(pcieUnderLoad({ ...link, gpuUtilPercent: PCIE_GEN_LOAD_PERCENT })).toBe(true);
    expect(evaluateConditions('nvidia', { ...link, gpuUtilPercent: 0 }, [])).toEqual([]);
    expect(evaluateConditions('nvidia', { ...link, gpuUtilPercent: 90 }, [])).toEqual([expect.objectContaining({ check: 'pcie-gen', level: 'degraded' })]);
    expect(evaluateConditions('nvidia', { pcieWidth: 8, pcieWidthMax: 16, gpuUtilPercent: 0 }, [])).toEqual([
      expect.objectContaining({ check: 'pcie-width', level: 'degraded', reason: 'PCIe link width x8 below max x16' }),
    ]);
  });

  it('puts unhealthy conditions before degraded ones, and conditionsOf keeps one check', () => {
    const sample = { gpuTempC: 95, slowdownTempC: 85, shutdownTempC: 90, pcieWidth: 8, pcieWidthMax: 16, clockEventReasons: CLOCK_POWER_BRAKE };
    const all = evaluateConditions('nvidia', sample, []);
    expect(all.map((c) => [c.check, c.level])).toEqual([
      ['temperature', 'unhealthy'],
      ['pcie-width', 'degraded'],
      ['power', 'degraded'],
    ]);
    expect(conditionsOf('power', 'nvidia', sample, [])).toEqual([expect.objectContaining({ action: 'check-power' })]);
    expect(conditionsOf('nvlink', 'nvidia', sample, [])).toEqual([]);
    // A temperature between slowdown and shutdown only degrades.
    expect(conditionsOf('temperature', 'nvidia', { ...sample, gpuTempC: 87 }, [])).toEqual([expect.objectContaining({ level: 'degraded' })]);
  });

  it('names every check that reports a condition', () => {
    const sample = { gpuTempC: 95, slowdownTempC: 85, shutdownTempC: 90, pcieGen: 1, pcieGenMax: 4, gpuUtilPercent: 50, nvlinks: [{ link: 0, active: false }] };
    for (const c of evaluateConditions('nvidia', sample as never, [])) expect(CONDITION_CHECKS.has(c.check)).toBe(true);
  });
});
