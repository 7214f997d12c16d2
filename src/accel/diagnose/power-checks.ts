/** Power draw against the enforced limit, the HW power brake, and the other clock-event reasons. */
import { type DeviceCheck, judged, pass, skip, warn } from './check.js';

// nvmlClocksEventReasons bits.
const REASONS: readonly (readonly [bit: number, name: string])[] = [
  [0x1, 'GpuIdle'],
  [0x2, 'AppClocks'],
  [0x4, 'SwPowerCap'],
  [0x8, 'HwSlowdown'],
  [0x10, 'SyncBoost'],
  [0x20, 'SwThermal'],
  [0x40, 'HwThermal'],
  [0x80, 'HwPowerBrake'],
  [0x100, 'DisplayClock'],
];

export function clockEventNames(mask: number): string[] {
  const names = REASONS.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name);
  const known = REASONS.reduce((a, [bit]) => a | bit, 0);
  const rest = mask & ~known;
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names;
}

const hex = (n: number) => `0x${n.toString(16)}`;

const powerCheck: DeviceCheck = {
  name: 'power',
  run({ device }) {
    const { powerW, powerLimitW } = device.sample;
    if (powerW === undefined) return skip(device, ['PowerUsage', 'dcmi_get_device_power_info'], 'within the limit, no power brake', 'power draw');
    const observed = powerLimitW === undefined ? `${powerW.toFixed(1)} W` : `${powerW.toFixed(1)} W of ${powerLimitW.toFixed(0)} W`;
    const expected = powerLimitW === undefined ? 'no power brake' : `≤ ${powerLimitW.toFixed(0)} W, no power brake`;
    const brake = judged('power', device, `${observed}, HwPowerBrake`, expected, () => 'the system asserted the HW power brake (clocks cut hard): check the power supplies and the chassis power budget');
    if (brake !== undefined) return brake;
    // A few percent over is sampling jitter around the cap; sustained draw well above it is not.
    if (powerLimitW !== undefined && powerW > powerLimitW * 1.05) {
      return warn('monitor', observed, expected, 'drawing more than the enforced power limit');
    }
    return pass(observed, expected, powerLimitW === undefined ? 'power read; no limit reported' : 'within the enforced power limit');
  },
};

const clockEventsCheck: DeviceCheck = {
  name: 'clock-events',
  run({ device }) {
    const mask = device.sample.clockEventReasons;
    if (mask === undefined) return skip(device, ['ClocksEventReasons', 'ClocksThrottleReasons'], 'no thermal or HW slowdown', 'clock-event reasons');
    const names = clockEventNames(mask);
    const observed = mask === 0 ? 'none' : `${hex(mask)} ${names.join('|')}`;
    const expected = 'no thermal or HW slowdown';
    const message = (c: { readonly action: string }) =>
      c.action === 'cool-down' ? 'clocks are held down for temperature: check airflow, fans and inlet temperature' : 'HW slowdown is active (temperature, power brake or an external signal)';
    const slow = judged('clock-events', device, observed, expected, message);
    if (slow !== undefined) return slow;
    // The power brake is reported by the power check; SW power cap and idle are normal operation.
    return pass(observed, expected, mask === 0 ? 'clocks are not held down' : 'only normal reasons (idle, power cap, app clocks)');
  },
};

export const powerChecks: readonly DeviceCheck[] = [powerCheck, clockEventsCheck];
