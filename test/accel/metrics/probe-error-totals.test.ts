import { describe, expect, it } from 'vitest';
import { ProbeErrorTotals } from '../../../src/accel/metrics/probe-error-totals.js';
import { gpu, snapshot } from '../helpers/snapshot.js';

const lost = { api: 'nvmlDeviceGetPowerUsage', code: 'GPU_IS_LOST', value: 15 };
const unknown = { api: 'nvmlDeviceGetTemperature', code: 'UNKNOWN', value: 999 };

describe('ProbeErrorTotals', () => {
  it('adds each snapshot once per device, api and code', () => {
    const t = new ProbeErrorTotals();
    const s1 = snapshot([gpu(0, {}, { errors: [lost, unknown] }), gpu(1)], { seq: 1 });
    t.observe(s1);
    t.observe(s1);
    t.observe(snapshot([gpu(0, {}, { errors: [lost] })], { seq: 2 }));
    expect(t.of(gpu(0))).toEqual([
      { api: lost.api, code: 'GPU_IS_LOST', count: 2 },
      { api: unknown.api, code: 'UNKNOWN', count: 1 },
    ]);
    expect(t.of(gpu(1))).toEqual([]);
  });

  it('restarts from zero when another sampler publishes the same seq', () => {
    const t = new ProbeErrorTotals();
    t.observe(snapshot([gpu(0, {}, { errors: [lost] })], { seq: 2 }));
    t.observe(snapshot([gpu(0, {}, { errors: [unknown] })], { seq: 2 }));
    expect(t.of(gpu(0))).toEqual([{ api: unknown.api, code: 'UNKNOWN', count: 1 }]);
  });

  it('restarts from zero when seq goes backwards (a new sampler)', () => {
    const t = new ProbeErrorTotals();
    t.observe(snapshot([gpu(0, {}, { errors: [lost] })], { seq: 5 }));
    t.observe(snapshot([gpu(0, {}, { errors: [lost] })], { seq: 1 }));
    expect(t.of(gpu(0))).toEqual([{ api: lost.api, code: 'GPU_IS_LOST', count: 1 }]);
  });
});
