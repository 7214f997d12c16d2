/** PCIe link: generation and width against the maximum, and the replay counter (link-level retries). */
import { PCIE_GEN_LOAD_PERCENT } from '../conditions.js';
import { type DeviceCheck, delta, judged, pass, seconds, skip, warn } from './check.js';

const pcieGenCheck: DeviceCheck = {
  name: 'pcie-gen',
  run({ device }) {
    const { pcieGen, pcieGenMax } = device.sample;
    if (pcieGen === undefined || pcieGenMax === undefined) return skip(device, ['PcieLinkGeneration'], 'current = max', 'PCIe link generation');
    const observed = `Gen${pcieGen}`;
    const expected = `Gen${pcieGenMax}`;
    if (pcieGen >= pcieGenMax) return pass(observed, expected, 'link runs at its maximum generation');
    const util = device.sample.gpuUtilPercent;
    const loaded = judged('pcie-gen', device, observed, expected, () => `link runs at Gen${pcieGen} instead of Gen${pcieGenMax} at ${util}% utilization: reseat the device, riser or cable`);
    if (loaded !== undefined) return loaded;
    // GPUs lower the link generation on their own when idle to save power: judged only under load.
    return pass(observed, expected, `Gen${pcieGen} at ${util === undefined ? 'unknown' : `${util}%`} utilization: idle GPUs lower the link generation; judged only at ≥ ${PCIE_GEN_LOAD_PERCENT}% utilization`);
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
    return (
      judged('pcie-width', device, observed, expected, () => `link trained at x${pcieWidth} of x${pcieWidthMax} lanes: reseat the device, riser or cable`) ??
      pass(observed, expected, 'link width not judged')
    );
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
