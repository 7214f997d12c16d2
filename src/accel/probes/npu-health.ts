/** Ascend chip health, fault codes and network health (dcmi_get_device_health, _errorcode_v2, _network_health). */
import { faultCodeHex } from '../fault-code.js';
import type { Probe } from './probe.js';
import { gauge, single } from './series.js';


/** npu-exporter's convention for both health gauges: 1 when the raw code is 0 (OK), else 0. */
const okToOne = (code: number | undefined) => (code === undefined ? undefined : code === 0 ? 1 : 0);

export const npuHealth: Probe = {
  name: 'npu-health',
  description: 'Ascend chip health level, active fault codes and network (RoCE) health.',
  defaultEnabled: true,
  vendors: ['ascend'],
  metrics: [
    gauge('npu', 'npu_chip_info_health_status', 'the npu health status, 1 healthy, 0 unhealthy', (d) => single(okToOne(d.sample.npuHealth))),
    gauge('npu', 'npu_chip_info_error_code', 'the npu first error code', (d) => single(d.sample.npuFaultCodes?.[0])),
    gauge('npu', 'npu_chip_info_network_status', 'the npu network health status, 1 healthy, 0 unhealthy', (d) => single(okToOne(d.sample.npuNetworkHealth))),
    gauge('native', 'brixlet_accelerator_npu_health_code', 'Raw dcmi health level: 0 normal, 1 minor, 2 major, 3 critical, 4294967295 not present.', (d) =>
      single(d.sample.npuHealth),
    ),
    gauge('native', 'brixlet_accelerator_npu_network_health_code', 'Raw dcmi network health: 0 ok, 1-5 faults, 6 initialising.', (d) => single(d.sample.npuNetworkHealth)),
    gauge('native', 'brixlet_accelerator_fault_codes', 'Active fault codes (1 per code, hex as in the vendor fault tables).', (d) => {
      const codes = d.sample.npuFaultCodes;
      if (codes === undefined) return [];
      // A chip can repeat a code in its list; one series per distinct code.
      return [...new Set(codes)].map((code) => ({ labels: { code: faultCodeHex(code) }, value: 1 }));
    }),
  ],
};
