/** PCIe link: generation and width against the maximum, and the replay counter (link-level retries). */
import { type DeviceCheck, delta, fail, pass, seconds, skip, warn } from './check.js';

const pcieGenCheck: DeviceCheck = {
  name: 'pcie-gen',
  run({ device }) {
    const { pcieGen, pcieGenMax } = device.sample;
    if (pcieGen === undefined || pcieGenMax === undefined) return skip(device, ['PcieLinkGeneration'], 'current = max', 'PCIe link generation');
    const observed = `Gen${pcieGen}`;
    const expected = `Gen${pcieGenMax}`;
    if (pcieGen >= pcieGenMax) return pass(observed, expected, 'link runs at its maximum generation');
    // GPUs lower the link generation on their own when idle to save power, so this alone is a warning.
    return warn('monitor', observed, expected, `link runs at Gen${pcieGen} instead of Gen${pcieGenMax}; idle GPUs downshift, re-check under load before reseating`);
  },
};

const pcieWidthCheck: DeviceCheck = {
  name: 'pcie-width',
  run({ device }) {
    const { pcieWidth, pcieWidthMax } = device.sample;
    if (pcieWidth === undefined || pcieWidthMax === undefined) return skip(device, ['PcieLinkWidth'], 'current = max', 'PCIe link width');
    const observed = `x${pcieWidth}`;
    const expected = `x${pcieWidthMax}`;
    if (pcieWidth >= pcieWidthMax) return pass(observed, expected, 'link runs at its full width');
    return fail('check-cabling', observed, expected, `link trained at x${pcieWidth} of x${pcieWidthMax} lanes: reseat the device, riser or cable`);
  },
};

const pcieReplayCheck: DeviceCheck = {
  name: 'pcie-replay',
  run({ device, before, level, windowMs }) {
    const now = device.sample.pcieReplayCount;
    if (now === undefined) return skip(device, ['PcieReplayCounter'], level === 2 ? 'no increase' : '0', 'PCIe replay counter');
    if (level === 2 && before !== undefined) {
      const d = delta(now, before.sample.pcieReplayCount);
      if (d === undefined) return pass(`${now}`, 'no increase', 'counter could not be compared across the window (reset or not read)');
      if (d > 0) return warn('check-cabling', `+${d} in ${seconds(windowMs)} (total ${now})`, 'no increase', 'PCIe replays are rising: the link is retrying transfers; check seating and signal integrity');
      return pass(`+0 in ${seconds(windowMs)} (total ${now})`, 'no increase', 'no new replays during the window');
    }
    if (now === 0) return pass('0', '0', 'no PCIe replays since the driver loaded');
    return warn('monitor', `${now}`, '0', `${now} PCIe replays since the driver loaded; run --level 2 to see whether they are still rising`);
  },
};

export const pcieChecks: readonly DeviceCheck[] = [pcieGenCheck, pcieWidthCheck, pcieReplayCheck];
