import { describe, expect, it } from 'vitest';
import { ProbeErrorTotals } from '../../../src/accel/metrics/probe-error-totals.js';
import { RUNTIME_DEVICE_METRICS, RUNTIME_NODE_METRICS, XID_WINDOW_MS, type RenderContext } from '../../../src/accel/metrics/runtime-metrics.js';
import { gpu, snapshot } from '../helpers/snapshot.js';

const decl = (name: string) => {
  const d = RUNTIME_DEVICE_METRICS.find((m) => m.name === name);
  if (d === undefined) throw new Error(name);
  return d;
};

describe('runtime metrics', () => {
  it('use the dcgm-exporter default XID window of five minutes', () => {
    expect(XID_WINDOW_MS).toBe(300_000);
  });

  it('ignore XIDs stamped after the snapshot (clock skew between event thread and sampler)', () => {
    const s = snapshot([gpu(0, {}, { recentXids: [{ xid: 31, at: 2_000 }] })], { at: 1_000 });
    const ctx: RenderContext = { snapshot: s, errorTotals: new ProbeErrorTotals() };
    expect(decl('DCGM_EXP_XID_ERRORS_COUNT').series(s.devices[0]!, ctx)).toEqual([]);
  });

  it('declare native runtime names idiomatically and compatible ones in their family', () => {
    for (const m of [...RUNTIME_DEVICE_METRICS, ...RUNTIME_NODE_METRICS]) {
      if (m.family === 'native') {
        expect(m.name).toMatch(/^brixlet_accelerator_[a-z_]+$/);
        expect(m.name.endsWith('_total'), m.name).toBe(m.type === 'counter');
      } else {
        expect(m.name).toMatch(m.family === 'dcgm' ? /^DCGM_/ : /^(npu_|machine_npu_nums$)/);
      }
    }
  });

  it('report no devices gauge for a vendor nobody looked for', () => {
    const s = snapshot([], { backends: [] });
    const devices = RUNTIME_NODE_METRICS.find((m) => m.name === 'brixlet_accelerator_devices')!;
    expect(devices.series({ snapshot: s, errorTotals: new ProbeErrorTotals() })).toEqual([]);
  });
});
