import { describe, expect, it } from 'vitest';
import { PROBES } from '../../../src/accel/probes/index.js';
import { PROBE_GROUPS } from '../../../src/accel/types.js';
import { ASCEND_SAMPLE, H100_SAMPLE, gpu, npu } from '../helpers/snapshot.js';

describe('PROBES', () => {
  it('has one probe per group, in PROBE_GROUPS order', () => {
    expect(PROBES.map((p) => p.name)).toEqual([...PROBE_GROUPS]);
  });

  it('declares every metric name once, with the family its prefix says', () => {
    const names = PROBES.flatMap((p) => p.metrics.map((m) => m.name));
    expect(new Set(names).size).toBe(names.length);
    for (const m of PROBES.flatMap((p) => p.metrics)) {
      const expected = m.name.startsWith('DCGM_') ? 'dcgm' : m.name.startsWith('npu_') ? 'npu' : 'native';
      expect(m.family, m.name).toBe(expected);
    }
  });

  it('names native metrics brixlet_accelerator_* with _total exactly on counters', () => {
    for (const m of PROBES.flatMap((p) => p.metrics).filter((x) => x.family === 'native')) {
      expect(m.name).toMatch(/^brixlet_accelerator_[a-z0-9_]+$/);
      expect(m.name.endsWith('_total'), m.name).toBe(m.type === 'counter');
    }
  });

  it('emits nothing for a device whose sample is empty (an unread field is never a 0)', () => {
    for (const probe of PROBES) {
      for (const m of probe.metrics) {
        expect(m.series(gpu(0, {})), `${probe.name} ${m.name} nvidia`).toEqual([]);
        expect(m.series(npu(0, {})), `${probe.name} ${m.name} ascend`).toEqual([]);
      }
    }
  });

  it('gives at least one series per probe for a fully read device of each vendor it serves', () => {
    for (const probe of PROBES) {
      const count = (sample: typeof H100_SAMPLE, vendor: 'nvidia' | 'ascend') =>
        probe.metrics.reduce((n, m) => n + m.series(vendor === 'nvidia' ? gpu(0, sample) : npu(0, sample)).length, 0);
      if (probe.vendors.includes('nvidia')) expect(count(H100_SAMPLE, 'nvidia'), probe.name).toBeGreaterThan(0);
      if (probe.vendors.includes('ascend')) expect(count(ASCEND_SAMPLE, 'ascend'), probe.name).toBeGreaterThan(0);
    }
  });
});
