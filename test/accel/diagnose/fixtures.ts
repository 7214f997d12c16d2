// Healthy device and snapshot builders for the diagnose tests; each test overrides what it breaks.
import type { AccelSnapshot, BackendStatus, DeviceSample, DeviceSnapshot, Vendor } from '../../../src/accel/types.js';

export const healthyGpuSample: DeviceSample = {
  gpuTempC: 41,
  memoryTempC: 39,
  slowdownTempC: 90,
  shutdownTempC: 94,
  powerW: 312.45,
  powerLimitW: 700,
  clockEventReasons: 0,
  pcieGen: 5,
  pcieGenMax: 5,
  pcieWidth: 16,
  pcieWidthMax: 16,
  pcieReplayCount: 0,
  eccEnabled: true,
  eccSbeVolatile: 0,
  eccDbeVolatile: 0,
  eccSbeAggregate: 0,
  eccDbeAggregate: 0,
  eccSramUncorrectedVolatile: 0,
  eccDramUncorrectedVolatile: 0,
  eccDramCorrectedVolatile: 0,
  retiredPagesSbe: 0,
  retiredPagesDbe: 0,
  retiredPagesPending: false,
  remappedRowsCorrectable: 0,
  remappedRowsUncorrectable: 0,
  remapPending: false,
  remapFailure: false,
  nvlinks: Array.from({ length: 4 }, (_, link) => ({ link, active: true, crcFlitErrors: 0, crcDataErrors: 0, replayErrors: 0, recoveryErrors: 0 })),
  recoveryAction: 0,
};

export const healthyNpuSample: DeviceSample = {
  gpuTempC: 45,
  powerW: 110.5,
  npuHealth: 0,
  npuFaultCodes: [],
  hbmEccSbe: 0,
  hbmEccDbe: 0,
  npuNetworkHealth: 0,
};

export function device(vendor: Vendor, index: number, patch: Partial<Omit<DeviceSnapshot, 'identity' | 'sample'>> & { sample?: DeviceSample } = {}): DeviceSnapshot {
  const base = vendor === 'nvidia' ? healthyGpuSample : healthyNpuSample;
  return {
    identity: { vendor, index, uuid: `${vendor === 'nvidia' ? 'GPU' : 'NPU'}-${index}`, name: vendor === 'nvidia' ? 'NVIDIA H100 80GB HBM3' : 'Ascend910B3', pciBusId: `00000000:${(16 + index).toString(16)}:00.0` },
    backend: vendor === 'nvidia' ? 'nvml' : 'dcmi',
    errors: [],
    unsupported: [],
    health: { state: 'healthy', reasons: [] },
    recentXids: [],
    xidCounts: {},
    ...patch,
    sample: { ...base, ...patch.sample },
  };
}

export const nvmlUp: BackendStatus = { kind: 'nvml', vendor: 'nvidia', state: 'up', driverVersion: '550.54.15', libraryVersion: '12.550.54.15' };
export const dcmiUp: BackendStatus = { kind: 'dcmi', vendor: 'ascend', state: 'up', driverVersion: '24.1.rc2' };

export function snapshot(devices: readonly DeviceSnapshot[], patch: Partial<AccelSnapshot> = {}): AccelSnapshot {
  const vendors = new Set(devices.map((d) => d.identity.vendor));
  return {
    seq: 1,
    at: Date.UTC(2025, 0, 1, 12, 0, 0),
    node: 'gpu-node-1',
    backends: [...(vendors.has('nvidia') ? [nvmlUp] : []), ...(vendors.has('ascend') ? [dcmiUp] : [])],
    devices,
    probes: [],
    ...patch,
  };
}

export const gpus = (n: number, patches: Record<number, Parameters<typeof device>[2]> = {}) => Array.from({ length: n }, (_, i) => device('nvidia', i, patches[i]));
