import { describe, expect, it } from 'vitest';
import { dcgmLabelPairs, deviceLabels, driverVersionOf, familyCovers, nativeLabelPairs, npuLabelPairs } from '../../../src/accel/metrics/labels.js';
import { backendStatus, gpu, npu, snapshot } from '../helpers/snapshot.js';
import { nvidiaIdentity } from '../helpers/snapshot.js';

describe('labels', () => {
  it('writes dcgm-exporter labels in its order, device from the minor number', () => {
    const d = gpu(3, {}, { identity: nvidiaIdentity(3, { minor: 7 }) });
    expect(dcgmLabelPairs(d, 'host-1', '550.90.07').map(([k]) => k)).toEqual([
      'gpu',
      'UUID',
      'pci_bus_id',
      'device',
      'modelName',
      'Hostname',
      'DCGM_FI_DRIVER_VERSION',
    ]);
    expect(Object.fromEntries(dcgmLabelPairs(d, 'host-1', '550.90.07'))).toMatchObject({ gpu: '3', device: 'nvidia7', Hostname: 'host-1' });
  });

  it('writes npu-exporter labels with the physical id', () => {
    const d = npu(2);
    expect(npuLabelPairs(d)).toEqual([
      ['id', '2'],
      ['model_name', 'Ascend910B3'],
      ['vdie_id', d.identity.uuid],
      ['pcie_bus_info', d.identity.pciBusId],
    ]);
  });

  it('writes native labels with the node', () => {
    expect(nativeLabelPairs(npu(1), 'n1').map(([k, v]) => `${k}=${v}`)).toEqual([
      'vendor=ascend',
      'index=1',
      `uuid=${npu(1).identity.uuid}`,
      'model=Ascend910B3',
      `pci_bus_id=${npu(1).identity.pciBusId}`,
      'node=n1',
    ]);
  });

  it('takes the driver version from the backend that read the device', () => {
    const s = snapshot([gpu(0), npu(0)], { backends: [backendStatus('ascend'), backendStatus('nvidia', { driverVersion: '570.1' })] });
    expect(driverVersionOf(s, s.devices[0]!)).toBe('570.1');
    expect(driverVersionOf(snapshot([gpu(0)], { backends: [] }), gpu(0))).toBe('');
  });

  it('escapes label values once, at render', () => {
    const d = gpu(0, {}, { identity: nvidiaIdentity(0, { name: 'odd "name"' }) });
    expect(deviceLabels(snapshot([d]), d, 'h').dcgm).toContain('modelName="odd \\"name\\""');
  });

  it('limits the compatible families to their vendor', () => {
    expect(familyCovers('dcgm', gpu(0))).toBe(true);
    expect(familyCovers('dcgm', npu(0))).toBe(false);
    expect(familyCovers('npu', npu(0))).toBe(true);
    expect(familyCovers('native', npu(0))).toBe(true);
  });
});
