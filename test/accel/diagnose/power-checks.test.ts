import { describe, expect, it } from 'vitest';
import { clockEventNames, powerChecks } from '../../../src/accel/diagnose/power-checks.js';
import type { DeviceSample } from '../../../src/accel/types.js';
import { device } from './fixtures.js';
import { runCheck } from './run-check.js';

const gpu = (sample: DeviceSample) => device('nvidia', 0, { sample });

describe('power checks', () => {
  it('passes a draw within the limit, even at the cap', () => {
    expect(runCheck(powerChecks, 'power', gpu({ powerW: 700, powerLimitW: 700 }))).toMatchObject({ status: 'pass', observed: '700.0 W of 700 W' });
  });

  it('warns on the HW power brake with check-power (health: degraded)', () => {
    expect(runCheck(powerChecks, 'power', gpu({ clockEventReasons: 0x80 }))).toMatchObject({ status: 'warn', action: 'check-power' });
  });

  it('warns on a draw well above the limit', () => {
    expect(runCheck(powerChecks, 'power', gpu({ powerW: 800, powerLimitW: 700 })).status).toBe('warn');
  });

  it('decodes clock-event reasons, unknown bits as hex', () => {
    expect(clockEventNames(0x60)).toEqual(['SwThermal', 'HwThermal']);
    expect(clockEventNames(0x1004)).toEqual(['SwPowerCap', '0x1000']);
  });

  it('warns on thermal and HW slowdown reasons, passes normal ones', () => {
    expect(runCheck(powerChecks, 'clock-events', gpu({ clockEventReasons: 0x60 }))).toMatchObject({ status: 'warn', action: 'cool-down', observed: '0x60 SwThermal|HwThermal' });
    expect(runCheck(powerChecks, 'clock-events', gpu({ clockEventReasons: 0x8 }))).toMatchObject({ status: 'warn', action: 'monitor' });
    expect(runCheck(powerChecks, 'clock-events', gpu({ clockEventReasons: 0x5 })).status).toBe('pass');
    expect(runCheck(powerChecks, 'clock-events', gpu({ clockEventReasons: undefined })).status).toBe('skip');
  });
});
