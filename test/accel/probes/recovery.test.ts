import { describe, expect, it } from 'vitest';
import { recovery } from '../../../src/accel/probes/recovery.js';
import { gpu, seriesOf } from '../helpers/snapshot.js';

describe('recovery probe', () => {
  it('exports the raw recovery action, 0 included', () => {
    expect(seriesOf(recovery, 'brixlet_accelerator_recovery_action', gpu(0, { recoveryAction: 2 }))).toEqual({ '': 2 });
    expect(seriesOf(recovery, 'brixlet_accelerator_recovery_action', gpu(0, { recoveryAction: 0 }))).toEqual({ '': 0 });
  });

  it('omits it on drivers before r570 (field 230 not supported)', () => {
    expect(seriesOf(recovery, 'brixlet_accelerator_recovery_action', gpu(0, {}))).toEqual({});
  });

  it('has no DCGM counterpart in the default set', () => {
    expect(recovery.metrics.map((m) => m.family)).toEqual(['native']);
  });
});
