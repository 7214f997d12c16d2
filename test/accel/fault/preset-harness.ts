/** Runs fault presets through a backend + Sampler + PROBES + runDiagnose: shared by the sim and native-mock preset tests. */
import { runDiagnose } from '../../../src/accel/diagnose/run-diagnose.js';
import type { DiagnoseResult } from '../../../src/accel/diagnose/diagnose-report.js';
import { createFaultDecorator } from '../../../src/accel/fault/decorator.js';
import { FaultEngine } from '../../../src/accel/fault/engine.js';
import { presetRule, type PresetRequest } from '../../../src/accel/fault/presets.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import { Sampler } from '../../../src/accel/sampler.js';
import type { AccelSnapshot, AcceleratorBackend, DeviceSnapshot, Vendor } from '../../../src/accel/types.js';
import { silentLog } from '../../helpers/apps.js';

export const XID_IGNORE = [13, 31, 43, 45, 68, 109];

export interface PresetOutcome {
  readonly snapshot: AccelSnapshot;
  readonly device: (vendor: Vendor, index: number) => DeviceSnapshot | undefined;
  /** Failing or warning checks: `check:status:action`, per device (null = node). */
  readonly findings: (vendor: Vendor | null, index: number | null) => string[];
  readonly results: readonly DiagnoseResult[];
  readonly engine: FaultEngine;
}

/** Wraps opened backends, applies the preset, takes one sample and diagnoses it. */
export async function runPreset(backends: readonly AcceleratorBackend[], name: string, req: PresetRequest): Promise<PresetOutcome> {
  const engine = new FaultEngine();
  const wrapped = backends.map((b) => createFaultDecorator(b, engine));
  engine.add(presetRule(name, req), { replace: true });
  for (const b of wrapped) await b.open();
  const sampler = new Sampler({ backends: wrapped, probes: PROBES, intervalMs: 60_000, node: 'n1', log: silentLog, xidIgnore: XID_IGNORE });
  try {
    const snapshot = await sampler.sampleNow();
    const report = runDiagnose({ level: 1, snapshot, expectedCount: 0, xidIgnore: XID_IGNORE });
    return {
      snapshot,
      engine,
      results: report.results,
      device: (vendor, index) => snapshot.devices.find((d) => d.identity.vendor === vendor && d.identity.index === index),
      findings: (vendor, index) =>
        report.results.filter((r) => r.vendor === vendor && r.device === index && (r.status === 'fail' || r.status === 'warn')).map((r) => `${r.check}:${r.status}:${r.action}`),
    };
  } finally {
    await sampler.dispose();
  }
}
