/** NVLink: every link the GPU has should be active, and its error counters quiet. */
import type { NvLinkSample } from '../types.js';
import { type DeviceCheck, judged, pass, seconds, skip, warn } from './check.js';

const nvlinkCheck: DeviceCheck = {
  name: 'nvlink',
  run({ device }) {
    const links = device.sample.nvlinks;
    if (links === undefined) return skip(device, ['NvLinkState'], 'all links active', 'NVLink state');
    if (links.length === 0) return skip(device, [], 'all links active', 'NVLink state (the GPU has no NVLink)');
    const down = links.filter((l) => !l.active).map((l) => l.link);
    const observed = `${links.length - down.length}/${links.length} active`;
    const expected = `${links.length}/${links.length} active`;
    if (down.length === 0) return pass(observed, expected, 'every NVLink is active');
    return (
      judged('nvlink', device, observed, expected, () => `link(s) ${down.join(', ')} inactive: reset the GPU; if they stay down, check the NVLink/NVSwitch fabric`) ??
      pass(observed, expected, 'NVLink state not judged')
    );
  },
};

type ErrorKey = 'crcFlitErrors' | 'crcDataErrors' | 'replayErrors' | 'recoveryErrors';
const KEYS: readonly ErrorKey[] = ['crcFlitErrors', 'crcDataErrors', 'replayErrors', 'recoveryErrors'];

function total(link: NvLinkSample): number | undefined {
  const values = KEYS.map((k) => link[k]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
}

const nvlinkErrorsCheck: DeviceCheck = {
  name: 'nvlink-errors',
  run({ device, before, level, windowMs }) {
    const links = (device.sample.nvlinks ?? []).filter((l) => total(l) !== undefined);
    if (links.length === 0) return skip(device, ['NvLinkErrorCounter', 'NvLinkState'], 'no errors', 'NVLink error counters');
    if (level === 2 && before !== undefined) {
      const earlier = new Map((before.sample.nvlinks ?? []).map((l) => [l.link, total(l)]));
      const rising = links.flatMap((l) => {
        const was = earlier.get(l.link);
        const now = total(l) as number;
        return was !== undefined && now > was ? [`link ${l.link} +${now - was}`] : [];
      });
      if (rising.length > 0) return warn('check-cabling', rising.join(', '), 'no increase', `NVLink errors rose during ${seconds(windowMs)}: the link is unstable`);
      return pass(`no increase in ${seconds(windowMs)}`, 'no increase', 'NVLink error counters did not move during the window');
    }
    const noisy = links.filter((l) => (total(l) as number) > 0);
    if (noisy.length === 0) return pass('0 on every link', 'no errors', 'no NVLink CRC, replay or recovery errors');
    const observed = noisy.map((l) => `link ${l.link}: ${total(l)}`).join(', ');
    return warn('monitor', observed, 'no errors', 'NVLink CRC/replay/recovery errors since the driver loaded; run --level 2 to see whether they are still rising');
  },
};

export const nvlinkChecks: readonly DeviceCheck[] = [nvlinkCheck, nvlinkErrorsCheck];
