import { describe, expect, it } from 'vitest';
import { npuHealth } from '../../../src/accel/probes/npu-health.js';
import { npu, seriesOf } from '../helpers/snapshot.js';

describe('npu-health probe', () => {
  it('maps dcmi health to npu-exporter health_status: 0 → 1 (healthy), anything else → 0', () => {
    expect(seriesOf(npuHealth, 'npu_chip_info_health_status', npu(0, { npuHealth: 0 }))).toEqual({ '': 1 });
    expect(seriesOf(npuHealth, 'npu_chip_info_health_status', npu(0, { npuHealth: 1 }))).toEqual({ '': 0 });
    expect(seriesOf(npuHealth, 'npu_chip_info_health_status', npu(0, { npuHealth: 0xffffffff }))).toEqual({ '': 0 });
    expect(seriesOf(npuHealth, 'brixlet_accelerator_npu_health_code', npu(0, { npuHealth: 0xffffffff }))).toEqual({ '': 4294967295 });
  });

  it('exports the first fault code unsigned, and every distinct code as hex natively', () => {
    const d = npu(0, { npuFaultCodes: [0x80e24e00, 0x80e3a201, 0x80e24e00] });
    expect(seriesOf(npuHealth, 'npu_chip_info_error_code', d)).toEqual({ '': 2162314752 });
    expect(seriesOf(npuHealth, 'brixlet_accelerator_fault_codes', d)).toEqual({ 'code=0x80E24E00': 1, 'code=0x80E3A201': 1 });
  });

  it('omits the error code when there is no fault', () => {
    expect(seriesOf(npuHealth, 'npu_chip_info_error_code', npu(0, { npuFaultCodes: [] }))).toEqual({});
    expect(seriesOf(npuHealth, 'brixlet_accelerator_fault_codes', npu(0, { npuFaultCodes: [] }))).toEqual({});
  });

  it('maps network health like npu-exporter (1 ok) and keeps the raw code', () => {
    expect(seriesOf(npuHealth, 'npu_chip_info_network_status', npu(0, { npuNetworkHealth: 0 }))).toEqual({ '': 1 });
    expect(seriesOf(npuHealth, 'npu_chip_info_network_status', npu(0, { npuNetworkHealth: 5 }))).toEqual({ '': 0 });
    expect(seriesOf(npuHealth, 'brixlet_accelerator_npu_network_health_code', npu(0, { npuNetworkHealth: 6 }))).toEqual({ '': 6 });
  });
});
