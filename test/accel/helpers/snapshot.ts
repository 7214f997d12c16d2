/**
 * Builds DeviceSnapshot and AccelSnapshot fixtures from partial samples, so a test states only
 * the fields it is about. Full samples for an H100 and an Ascend 910B3 match the reference
 * scenarios in mocks/scenarios/ (converted to DeviceSample units).
 */
import type { Probe, MetricDecl, MetricFamily, MetricSeries } from '../../../src/accel/probes/probe.js';
import type { AccelSnapshot, BackendStatus, DeviceIdentity, DeviceSample, DeviceSnapshot, Vendor } from '../../../src/accel/types.js';

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

export function nvidiaIdentity(index: number, over: Partial<DeviceIdentity> = {}): DeviceIdentity {
  return {
    vendor: 'nvidia',
    index,
    uuid: `GPU-00000000-0000-0000-0000-0000000000${hex2(index)}`,
    name: 'NVIDIA H100 80GB HBM3',
    pciBusId: `00000000:${hex2(0x18 + index * 0x10).toUpperCase()}:00.0`,
    serial: `165432100${index}`,
    arch: '9',
    minor: index,
    ...over,
  };
}

export function ascendIdentity(index: number, over: Partial<DeviceIdentity> = {}): DeviceIdentity {
  return {
    vendor: 'ascend',
    index,
    uuid: `NPU-1a2b3c4d-00010203-0405060${index}-08090a0b-0c0d0e0f`,
    name: 'Ascend910B3',
    pciBusId: `00000000:${hex2(0xc1 + index)}:00.0`,
    arch: '910B3',
    cardId: index,
    deviceId: 0,
    phyId: index,
    ...over,
  };
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

export const H100_SAMPLE: DeviceSample = {
  memoryTotalBytes: 80 * GIB,
  memoryUsedBytes: 1024 * MIB,
  memoryReservedBytes: 512 * MIB,
  memoryFreeBytes: 80 * GIB - 1536 * MIB,
  gpuUtilPercent: 37,
  memoryUtilPercent: 12,
  encoderUtilPercent: 0,
  decoderUtilPercent: 0,
  gpuTempC: 41,
  memoryTempC: 38,
  slowdownTempC: 90,
  shutdownTempC: 95,
  powerW: 112.5,
  powerLimitW: 700,
  energyMj: 123_456_789,
  smClockMhz: 1980,
  memClockMhz: 2619,
  graphicsClockMhz: 1980,
  maxSmClockMhz: 1980,
  pstate: 0,
  clockEventReasons: 0,
  pcieGen: 5,
  pcieGenMax: 5,
  pcieWidth: 16,
  pcieWidthMax: 16,
  pcieTxKBps: 2048,
  pcieRxKBps: 1024,
  pcieReplayCount: 0,
  eccEnabled: true,
  eccSbeVolatile: 0,
  eccDbeVolatile: 0,
  eccSbeAggregate: 0,
  eccDbeAggregate: 0,
  eccSramUncorrectedVolatile: 0,
  eccDramUncorrectedVolatile: 0,
  eccDramCorrectedVolatile: 0,
  remappedRowsCorrectable: 0,
  remappedRowsUncorrectable: 0,
  remapPending: false,
  remapFailure: false,
  nvlinks: Array.from({ length: 18 }, (_, link) => ({ link, active: true, crcFlitErrors: 0, crcDataErrors: 0, replayErrors: 0, recoveryErrors: 0 })),
  recoveryAction: 0,
  processes: [],
};

export const ASCEND_SAMPLE: DeviceSample = {
  hbmTotalBytes: 65536 * MIB,
  hbmUsedBytes: 3276 * MIB,
  hbmTempC: 43,
  aicoreUtilPercent: 35,
  gpuTempC: 45,
  powerW: 110.5,
  voltageV: 0.85,
  aicoreFreqMhz: 1800,
  hbmEccSbe: 0,
  hbmEccDbe: 0,
  npuHealth: 0,
  npuFaultCodes: [],
  npuNetworkHealth: 0,
  processes: [],
};

export function device(vendor: Vendor, index: number, sample: DeviceSample = {}, over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    identity: vendor === 'nvidia' ? nvidiaIdentity(index) : ascendIdentity(index),
    backend: 'sim',
    sample,
    errors: [],
    unsupported: [],
    health: { state: 'healthy', reasons: [] },
    recentXids: [],
    xidCounts: {},
    ...over,
  };
}

export const gpu = (index: number, sample: DeviceSample = {}, over: Partial<DeviceSnapshot> = {}) => device('nvidia', index, sample, over);
export const npu = (index: number, sample: DeviceSample = {}, over: Partial<DeviceSnapshot> = {}) => device('ascend', index, sample, over);

export function backendStatus(vendor: Vendor, over: Partial<BackendStatus> = {}): BackendStatus {
  return vendor === 'nvidia'
    ? { kind: 'sim', vendor, state: 'up', driverVersion: '550.90.07', libraryVersion: '12.550.90.07', ...over }
    : { kind: 'sim', vendor, state: 'up', driverVersion: '24.1.rc2', ...over };
}

/** A snapshot of these devices; one `up` backend per vendor present unless `backends` is given. */
export function snapshot(devices: readonly DeviceSnapshot[], over: Partial<AccelSnapshot> = {}): AccelSnapshot {
  const vendors = [...new Set(devices.map((d) => d.identity.vendor))];
  return {
    seq: 1,
    at: 1_700_000_000_000,
    node: 'node-a',
    backends: vendors.map((v) => backendStatus(v)),
    devices,
    probes: [],
    ...over,
  };
}

export const eightGpus = (sample: DeviceSample = H100_SAMPLE) => Array.from({ length: 8 }, (_, i) => gpu(i, sample));
export const eightNpus = (sample: DeviceSample = ASCEND_SAMPLE) => Array.from({ length: 8 }, (_, i) => npu(i, sample));

/** The declaration of `name` in a probe; throws so a renamed metric fails loudly. */
export function declOf(probe: Probe, name: string): MetricDecl {
  const decl = probe.metrics.find((m) => m.name === name);
  if (decl === undefined) throw new Error(`${probe.name} declares no ${name}`);
  return decl;
}

/** The series `name` gives for a device, labels flattened to `k=v,…` for compact expectations. */
export function seriesOf(probe: Probe, name: string, dev: DeviceSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of declOf(probe, name).series(dev)) out[labelKey(s)] = s.value;
  return out;
}

function labelKey(s: MetricSeries): string {
  return s.labels === undefined ? '' : Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',');
}

export function namesOf(probe: Probe, family: MetricFamily): string[] {
  return probe.metrics.filter((m) => m.family === family).map((m) => m.name);
}
