/** temperature: the core temperature against the device's own slowdown and shutdown thresholds. */
import { type DeviceCheck, fail, pass, skip, warn } from './check.js';

export const thermalCheck: DeviceCheck = {
  name: 'temperature',
  run({ device }) {
    const { gpuTempC: temp, slowdownTempC: slowdown, shutdownTempC: shutdown } = device.sample;
    if (temp === undefined) return skip(device, ['Temperature', 'dcmi_get_device_temperature'], 'below the slowdown threshold', 'temperature');
    const observed = `${temp} °C`;
    if (slowdown === undefined && shutdown === undefined) return pass(observed, 'no threshold reported', 'temperature read; the device reports no thresholds to compare with');
    const expected = slowdown !== undefined ? `< ${slowdown} °C (slowdown)` : `< ${shutdown} °C (shutdown)`;
    if (shutdown !== undefined && temp >= shutdown) return fail('cool-down', observed, expected, `at or above the ${shutdown} °C shutdown threshold: the device will power off; check cooling now`);
    if (slowdown !== undefined && temp >= slowdown) return warn('cool-down', observed, expected, `at or above the ${slowdown} °C slowdown threshold: clocks are being cut; check airflow, fans and inlet temperature`);
    return pass(observed, expected, 'below the slowdown threshold');
  },
};
