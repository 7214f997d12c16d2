/** temperature: the core temperature against the device's own slowdown and shutdown thresholds. */
import { type DeviceCheck, judged, pass, skip } from './check.js';

export const thermalCheck: DeviceCheck = {
  name: 'temperature',
  run({ device }) {
    const { gpuTempC: temp, slowdownTempC: slowdown, shutdownTempC: shutdown } = device.sample;
    if (temp === undefined) return skip(device, ['Temperature', 'dcmi_get_device_temperature'], 'below the slowdown threshold', 'temperature');
    const observed = `${temp} °C`;
    if (slowdown === undefined && shutdown === undefined) return pass(observed, 'no threshold reported', 'temperature read; the device reports no thresholds to compare with');
    const expected = slowdown !== undefined ? `< ${slowdown} °C (slowdown)` : `< ${shutdown} °C (shutdown)`;
    const message = (c: { readonly level: string }) =>
      c.level === 'unhealthy'
        ? `at or above the ${shutdown} °C shutdown threshold: the device will power off; check cooling now`
        : `at or above the ${slowdown} °C slowdown threshold: clocks are being cut; check airflow, fans and inlet temperature`;
    return judged('temperature', device, observed, expected, message) ?? pass(observed, expected, 'below the slowdown threshold');
  },
};
