/** Ascend NPU checks: health level, fault codes, HBM ECC and the chip's network (RoCE/HCCS) health. */
import { NPU_FAULT_CLASSES } from '../conditions.js';
import { faultCodeHex } from '../fault-code.js';
import { type DeviceCheck, judged, pass, skip, warn } from './check.js';

const NOT_PRESENT = 0xffffffff;
const HEALTH_NAMES: Readonly<Record<number, string>> = { 0: 'normal', 1: 'minor alarm', 2: 'major alarm', 3: 'critical alarm', [NOT_PRESENT]: 'not present' };


const npuHealthCheck: DeviceCheck = {
  name: 'npu-health',
  run({ device }) {
    const health = device.sample.npuHealth;
    if (health === undefined) return skip(device, ['dcmi_get_device_health'], '0 normal', 'NPU health');
    const observed = `${health === NOT_PRESENT ? '0xFFFFFFFF' : health} ${HEALTH_NAMES[health] ?? 'unknown'}`;
    const message = () => {
      if (health === 1) return 'a minor alarm is raised; see npu-fault-codes';
      if (health === NOT_PRESENT) return 'the chip is no longer present to the driver: reboot the node; if it stays missing, the card needs service';
      return `a ${HEALTH_NAMES[health] ?? `level ${health} alarm`} is raised: reset the NPU (see npu-fault-codes for the cause)`;
    };
    return judged('npu-health', device, observed, '0 normal', message) ?? pass(observed, '0 normal', 'the driver reports the chip healthy');
  },
};

const npuFaultCodesCheck: DeviceCheck = {
  name: 'npu-fault-codes',
  run({ device }) {
    const codes = device.sample.npuFaultCodes;
    if (codes === undefined) return skip(device, ['dcmi_get_device_errorcode'], 'none', 'NPU fault codes');
    if (codes.length === 0) return pass('none', 'none', 'no fault codes raised');
    const observed = codes.map(faultCodeHex).join(', ');
    const known = codes.map((c) => NPU_FAULT_CLASSES.get(c >>> 0)).filter((k) => k !== undefined);
    const health = device.sample.npuHealth ?? 0;
    const message = () => {
      if (known.some((k) => k.action === 'replace-device')) return 'a SeparateNPU fault: take the NPU out of service and have it replaced';
      if (known.length > 0) return `${known.map((k) => k.cls).join(', ')} fault: reset the NPU`;
      if (health >= 2) return `fault code(s) with health level ${health}: reset the NPU; look the code up in the Ascend fault-code reference`;
      return 'fault code(s) raised without a major alarm; look the code up in the Ascend fault-code reference';
    };
    return judged('npu-fault-codes', device, observed, 'none', message) ?? pass(observed, 'none', 'fault codes not judged');
  },
};

const npuHbmEccCheck: DeviceCheck = {
  name: 'npu-hbm-ecc',
  run({ device }) {
    const { hbmEccSbe: sbe, hbmEccDbe: dbe } = device.sample;
    if (sbe === undefined && dbe === undefined) return skip(device, ['dcmi_get_device_ecc_info'], 'double-bit 0', 'HBM ECC counters');
    const observed = [sbe === undefined ? undefined : `single-bit ${sbe}`, dbe === undefined ? undefined : `double-bit ${dbe}`].filter(Boolean).join(', ');
    const verdict = judged('npu-hbm-ecc', device, observed, 'double-bit 0', () => 'uncorrectable HBM errors: reset the NPU; replace it if they recur');
    if (verdict !== undefined) return verdict;
    if ((sbe ?? 0) > 0) return warn('monitor', observed, 'double-bit 0', 'correctable HBM errors: harmless alone, watch whether they keep rising');
    return pass(observed, 'double-bit 0', 'no HBM ECC errors');
  },
};

// dcmi_rdfx_detect_result.
const NETWORK: Readonly<Record<number, string>> = { 0: 'ok', 1: 'socket failure', 2: 'receive timeout', 3: 'unreachable', 4: 'time exceeded', 5: 'fault', 6: 'initialising' };

const npuNetworkCheck: DeviceCheck = {
  name: 'npu-network',
  run({ device }) {
    const state = device.sample.npuNetworkHealth;
    if (state === undefined) return skip(device, ['dcmi_get_device_network_health'], '0 ok', 'NPU network health');
    const observed = `${state} ${NETWORK[state] ?? 'unknown'}`;
    if (state === 0) return pass(observed, '0 ok', 'the NPU network port answers its peer');
    if (state === 6) return warn('monitor', observed, '0 ok', 'the NPU network is still initialising (or not configured with hccn_tool)');
    const fault = judged('npu-network', device, observed, '0 ok', () => 'the NPU network port is faulty: check the optical module, cable and switch port');
    if (fault !== undefined) return fault;
    return warn('check-cabling', observed, '0 ok', 'the NPU network detection failed: check the port configuration (hccn_tool), cable and peer');
  },
};

export const ascendChecks: readonly DeviceCheck[] = [npuHealthCheck, npuFaultCodesCheck, npuHbmEccCheck, npuNetworkCheck];
