/** Ascend NPU checks: health level, fault codes, HBM ECC and the chip's network (RoCE/HCCS) health. */
import { faultCodeHex } from '../fault-code.js';
import { type DeviceCheck, fail, pass, skip, warn } from './check.js';
import type { DiagnoseAction } from './diagnose-report.js';

const NOT_PRESENT = 0xffffffff;
const HEALTH_NAMES: Readonly<Record<number, string>> = { 0: 'normal', 1: 'minor alarm', 2: 'major alarm', 3: 'critical alarm', [NOT_PRESENT]: 'not present' };


/**
 * Handling classes of the Ascend device plugin's fault-code list (faultCode.json), for the codes
 * brixlet knows; an unknown code is judged by the chip's health level instead.
 */
const FAULT_CLASSES: ReadonlyMap<number, { readonly cls: string; readonly action: DiagnoseAction }> = new Map([
  [0x80e24e00, { cls: 'RestartNPU', action: 'reset-npu' }],
  [0x80e3a201, { cls: 'SeparateNPU', action: 'replace-device' }],
]);

const npuHealthCheck: DeviceCheck = {
  name: 'npu-health',
  run({ device }) {
    const health = device.sample.npuHealth;
    if (health === undefined) return skip(device, ['dcmi_get_device_health'], '0 normal', 'NPU health');
    const observed = `${health === NOT_PRESENT ? '0xFFFFFFFF' : health} ${HEALTH_NAMES[health] ?? 'unknown'}`;
    switch (health) {
      case 0:
        return pass(observed, '0 normal', 'the driver reports the chip healthy');
      case 1:
        return warn('monitor', observed, '0 normal', 'a minor alarm is raised; see npu-fault-codes');
      case NOT_PRESENT:
        return fail('reboot-node', observed, '0 normal', 'the chip is no longer present to the driver: reboot the node; if it stays missing, the card needs service');
      default:
        return fail('reset-npu', observed, '0 normal', `a ${HEALTH_NAMES[health] ?? `level ${health} alarm`} is raised: reset the NPU (see npu-fault-codes for the cause)`);
    }
  },
};

const npuFaultCodesCheck: DeviceCheck = {
  name: 'npu-fault-codes',
  run({ device }) {
    const codes = device.sample.npuFaultCodes;
    if (codes === undefined) return skip(device, ['dcmi_get_device_errorcode'], 'none', 'NPU fault codes');
    if (codes.length === 0) return pass('none', 'none', 'no fault codes raised');
    const observed = codes.map(faultCodeHex).join(', ');
    const known = codes.map((c) => FAULT_CLASSES.get(c >>> 0)).filter((k) => k !== undefined);
    if (known.some((k) => k.action === 'replace-device')) return fail('replace-device', observed, 'none', 'a SeparateNPU fault: take the NPU out of service and have it replaced');
    if (known.length > 0) return fail('reset-npu', observed, 'none', `${known.map((k) => k.cls).join(', ')} fault: reset the NPU`);
    const health = device.sample.npuHealth ?? 0;
    if (health >= 2) return fail('reset-npu', observed, 'none', `fault code(s) with health level ${health}: reset the NPU; look the code up in the Ascend fault-code reference`);
    return warn('monitor', observed, 'none', 'fault code(s) raised without a major alarm; look the code up in the Ascend fault-code reference');
  },
};

const npuHbmEccCheck: DeviceCheck = {
  name: 'npu-hbm-ecc',
  run({ device }) {
    const { hbmEccSbe: sbe, hbmEccDbe: dbe } = device.sample;
    if (sbe === undefined && dbe === undefined) return skip(device, ['dcmi_get_device_ecc_info'], 'double-bit 0', 'HBM ECC counters');
    const observed = [sbe === undefined ? undefined : `single-bit ${sbe}`, dbe === undefined ? undefined : `double-bit ${dbe}`].filter(Boolean).join(', ');
    if ((dbe ?? 0) > 0) return fail('reset-npu', observed, 'double-bit 0', 'uncorrectable HBM errors: reset the NPU; replace it if they recur');
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
    if (state === 5) return fail('check-cabling', observed, '0 ok', 'the NPU network port is faulty: check the optical module, cable and switch port');
    return warn('check-cabling', observed, '0 ok', 'the NPU network detection failed: check the port configuration (hccn_tool), cable and peer');
  },
};

export const ascendChecks: readonly DeviceCheck[] = [npuHealthCheck, npuFaultCodesCheck, npuHbmEccCheck, npuNetworkCheck];
