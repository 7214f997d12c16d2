/**
 * The sim "library": a scenario section held as per-device state, and the table of native calls
 * the real backends make, each with the scenario keys it reads and how they become DeviceSample
 * fields. Same rules as the native mocks (native/): a device's state is `defaults` merged under its
 * own keys; a call whose keys are all absent answers NOT_SUPPORTED; a `returns` entry (per device,
 * else section-wide) makes that call fail with that code. A call that fills a struct answers when
 * its leading key is set (memoryTotal, utilGpu, hbmTotalMb; any of the four remap keys), the other
 * members reading 0 as the mock's zeroed struct would.
 */
import { BrixletError } from '../../common/errors.js';
import { type DcmiSection, expandDevices, type NpuDeviceSpec, type NvmlDeviceSpec, type NvmlSection } from '../scenario.js';
import type { DeviceSample, NvLinkSample, ProbeGroup, Vendor } from '../types.js';

export type DeviceSpec = NvmlDeviceSpec | NpuDeviceSpec;

/**
 * One native call: its function name (what `returns` overrides), the keys whose presence makes it
 * supported (as the native mock decides), and the fields it fills.
 */
export interface SimCall<S> {
  readonly api: string;
  /** Which variant of the call (`SM`, `SLOWDOWN`, field `230`): errors name it `api(qualifier)` as the real backends do. */
  readonly qualifier?: string;
  readonly keys: readonly (keyof S & string)[];
  /** Other struct members the call fills from the scenario (0 when absent). */
  readonly members?: readonly (keyof S & string)[];
  /** When this call is unsupported or fails, the backend makes no further call of the group. */
  readonly stopWhenUnavailable?: boolean;
  /** `acc` holds what earlier calls of the same group read (NVLink counters extend the link list). */
  read(spec: S, acc: DeviceSample): DeviceSample;
}

const n = (v: number | undefined): number => v ?? 0;
const one = <S>(api: string, key: keyof S & string, read: (spec: S) => DeviceSample, qualifier?: string): SimCall<S> => ({
  api,
  keys: [key],
  read,
  ...(qualifier !== undefined ? { qualifier } : {}),
});

/** The name errors and `unsupported` use: `nvmlDeviceGetClockInfo(SM)`. */
export function callLabel(call: { readonly api: string; readonly qualifier?: string }): string {
  return call.qualifier === undefined ? call.api : `${call.api}(${call.qualifier})`;
}

type Nv = NvmlDeviceSpec;
type Npu = NpuDeviceSpec;

/** nvmlNvLinkErrorCounter_t order, as the nvml backend reads them. */
const NVLINK_COUNTERS = [
  ['nvlinkReplay', 'replayErrors', 'DL_REPLAY'],
  ['nvlinkRecovery', 'recoveryErrors', 'DL_RECOVERY'],
  ['nvlinkCrcFlit', 'crcFlitErrors', 'CRC_FLIT'],
  ['nvlinkCrcData', 'crcDataErrors', 'CRC_DATA'],
] as const;

type CounterField = (typeof NVLINK_COUNTERS)[number][1];

function withCounter(link: NvLinkSample, field: CounterField, value: number | undefined): NvLinkSample {
  return value === undefined ? link : { ...link, [field]: value };
}

/** NVML calls per probe group, in the order the nvml backend makes them. */
export const NVML_CALLS: Readonly<Record<ProbeGroup, readonly SimCall<Nv>[]>> = {
  memory: [
    {
      api: 'nvmlDeviceGetMemoryInfo_v2',
      keys: ['memoryTotal'],
      members: ['memoryUsed', 'memoryReserved'],
      read: (s) => ({
        memoryTotalBytes: n(s.memoryTotal),
        memoryUsedBytes: n(s.memoryUsed),
        memoryReservedBytes: n(s.memoryReserved),
        memoryFreeBytes: Math.max(0, n(s.memoryTotal) - n(s.memoryUsed) - n(s.memoryReserved)),
      }),
    },
  ],
  utilization: [
    { api: 'nvmlDeviceGetUtilizationRates', keys: ['utilGpu'], members: ['utilMemory'], read: (s) => ({ gpuUtilPercent: n(s.utilGpu), memoryUtilPercent: n(s.utilMemory) }) },
    one('nvmlDeviceGetEncoderUtilization', 'utilEncoder', (s) => ({ encoderUtilPercent: s.utilEncoder })),
    one('nvmlDeviceGetDecoderUtilization', 'utilDecoder', (s) => ({ decoderUtilPercent: s.utilDecoder })),
  ],
  thermal: [
    one('nvmlDeviceGetTemperature', 'tempGpu', (s) => ({ gpuTempC: s.tempGpu })),
    one('nvmlDeviceGetFieldValues', 'tempMemory', (s) => ({ memoryTempC: s.tempMemory }), '82'),
    one('nvmlDeviceGetTemperatureThreshold', 'tempSlowdown', (s) => ({ slowdownTempC: s.tempSlowdown }), 'SLOWDOWN'),
    one('nvmlDeviceGetTemperatureThreshold', 'tempShutdown', (s) => ({ shutdownTempC: s.tempShutdown }), 'SHUTDOWN'),
  ],
  power: [
    one('nvmlDeviceGetPowerUsage', 'powerUsageMw', (s) => ({ powerW: n(s.powerUsageMw) / 1000 })),
    one('nvmlDeviceGetEnforcedPowerLimit', 'powerLimitMw', (s) => ({ powerLimitW: n(s.powerLimitMw) / 1000 })),
    one('nvmlDeviceGetTotalEnergyConsumption', 'energyMj', (s) => ({ energyMj: s.energyMj })),
  ],
  clocks: [
    one('nvmlDeviceGetClockInfo', 'clockGraphics', (s) => ({ graphicsClockMhz: s.clockGraphics }), 'GRAPHICS'),
    one('nvmlDeviceGetClockInfo', 'clockSm', (s) => ({ smClockMhz: s.clockSm }), 'SM'),
    one('nvmlDeviceGetClockInfo', 'clockMem', (s) => ({ memClockMhz: s.clockMem }), 'MEM'),
    one('nvmlDeviceGetMaxClockInfo', 'maxClockSm', (s) => ({ maxSmClockMhz: s.maxClockSm }), 'SM'),
    one('nvmlDeviceGetPerformanceState', 'pstate', (s) => ({ pstate: s.pstate })),
    one('nvmlDeviceGetCurrentClocksEventReasons', 'clockEventReasons', (s) => ({ clockEventReasons: s.clockEventReasons })),
  ],
  pcie: [
    one('nvmlDeviceGetCurrPcieLinkGeneration', 'pcieGen', (s) => ({ pcieGen: s.pcieGen })),
    one('nvmlDeviceGetMaxPcieLinkGeneration', 'pcieGenMax', (s) => ({ pcieGenMax: s.pcieGenMax })),
    one('nvmlDeviceGetCurrPcieLinkWidth', 'pcieWidth', (s) => ({ pcieWidth: s.pcieWidth })),
    one('nvmlDeviceGetMaxPcieLinkWidth', 'pcieWidthMax', (s) => ({ pcieWidthMax: s.pcieWidthMax })),
    one('nvmlDeviceGetPcieThroughput', 'pcieTxKBps', (s) => ({ pcieTxKBps: s.pcieTxKBps }), 'TX'),
    one('nvmlDeviceGetPcieThroughput', 'pcieRxKBps', (s) => ({ pcieRxKBps: s.pcieRxKBps }), 'RX'),
    one('nvmlDeviceGetPcieReplayCounter', 'pcieReplay', (s) => ({ pcieReplayCount: s.pcieReplay })),
  ],
  ecc: [
    one('nvmlDeviceGetEccMode', 'eccEnabled', (s) => ({ eccEnabled: s.eccEnabled })),
    one('nvmlDeviceGetTotalEccErrors', 'eccSbeVolatile', (s) => ({ eccSbeVolatile: s.eccSbeVolatile }), 'CORRECTED,VOLATILE'),
    one('nvmlDeviceGetTotalEccErrors', 'eccDbeVolatile', (s) => ({ eccDbeVolatile: s.eccDbeVolatile }), 'UNCORRECTED,VOLATILE'),
    one('nvmlDeviceGetTotalEccErrors', 'eccSbeAggregate', (s) => ({ eccSbeAggregate: s.eccSbeAggregate }), 'CORRECTED,AGGREGATE'),
    one('nvmlDeviceGetTotalEccErrors', 'eccDbeAggregate', (s) => ({ eccDbeAggregate: s.eccDbeAggregate }), 'UNCORRECTED,AGGREGATE'),
    one('nvmlDeviceGetMemoryErrorCounter', 'eccSramUncorrectedVolatile', (s) => ({ eccSramUncorrectedVolatile: s.eccSramUncorrectedVolatile }), 'UNCORRECTED,VOLATILE,SRAM'),
    one('nvmlDeviceGetMemoryErrorCounter', 'eccDramUncorrectedVolatile', (s) => ({ eccDramUncorrectedVolatile: s.eccDramUncorrectedVolatile }), 'UNCORRECTED,VOLATILE,DRAM'),
    one('nvmlDeviceGetMemoryErrorCounter', 'eccDramCorrectedVolatile', (s) => ({ eccDramCorrectedVolatile: s.eccDramCorrectedVolatile }), 'CORRECTED,VOLATILE,DRAM'),
  ],
  retirement: [
    one('nvmlDeviceGetRetiredPages', 'retiredSbe', (s) => ({ retiredPagesSbe: s.retiredSbe }), 'MULTIPLE_SBE'),
    one('nvmlDeviceGetRetiredPages', 'retiredDbe', (s) => ({ retiredPagesDbe: s.retiredDbe }), 'DBE'),
    one('nvmlDeviceGetRetiredPagesPendingStatus', 'retiredPending', (s) => ({ retiredPagesPending: s.retiredPending })),
    {
      api: 'nvmlDeviceGetRemappedRows',
      keys: ['remappedCorrectable', 'remappedUncorrectable', 'remapPending', 'remapFailure'],
      read: (s) => ({
        remappedRowsCorrectable: n(s.remappedCorrectable),
        remappedRowsUncorrectable: n(s.remappedUncorrectable),
        remapPending: s.remapPending ?? false,
        remapFailure: s.remapFailure ?? false,
      }),
    },
  ],
  nvlink: [
    // The nvml backend asks field 91 (NVLINK_LINK_COUNT) for the link count first; the mock answers
    // it when any NVLink key is set. Without it the backend probes nvmlDeviceGetNvLinkState instead.
    {
      api: 'nvmlDeviceGetFieldValues',
      qualifier: '91',
      keys: ['nvlinkActive', ...NVLINK_COUNTERS.map(([key]) => key)],
      read: () => ({}),
    },
    {
      ...one('nvmlDeviceGetNvLinkState', 'nvlinkActive', (s) => ({ nvlinks: (s.nvlinkActive ?? []).map((active, link) => ({ link, active })) })),
      stopWhenUnavailable: true,
    },
    ...NVLINK_COUNTERS.map(([key, field, qualifier]): SimCall<Nv> => ({
      api: 'nvmlDeviceGetNvLinkErrorCounter',
      qualifier,
      keys: [key],
      // Counters extend the links nvmlDeviceGetNvLinkState found; without links there is nothing to count.
      read: (s, acc) => (acc.nvlinks === undefined ? {} : { nvlinks: acc.nvlinks.map((l) => withCounter(l, field, s[key]?.[l.link])) }),
    })),
  ],
  recovery: [one('nvmlDeviceGetFieldValues', 'recoveryAction', (s) => ({ recoveryAction: s.recoveryAction }), '230')],
  processes: [
    one('nvmlDeviceGetComputeRunningProcesses_v3', 'processes', (s) => ({
      processes: (s.processes ?? []).map((p) => ({ pid: p.pid, usedMemoryBytes: p.usedMemory })),
    })),
  ],
  'npu-health': [],
};

const MB = 1024 * 1024;

/** DCMI calls per probe group, in the order the dcmi backend makes them. */
export const DCMI_CALLS: Readonly<Record<ProbeGroup, readonly SimCall<Npu>[]>> = {
  memory: [
    {
      api: 'dcmi_get_device_hbm_info',
      keys: ['hbmTotalMb'],
      members: ['hbmUsedMb'],
      read: (s) => {
        const total = n(s.hbmTotalMb) * MB;
        const used = n(s.hbmUsedMb) * MB;
        // HBM is the device memory on Ascend: memory* and hbm* carry the same numbers.
        return { memoryTotalBytes: total, hbmTotalBytes: total, memoryUsedBytes: used, hbmUsedBytes: used, memoryFreeBytes: Math.max(0, total - used) };
      },
    },
  ],
  utilization: [one('dcmi_get_device_utilization_rate', 'utilAicore', (s) => ({ gpuUtilPercent: s.utilAicore, aicoreUtilPercent: s.utilAicore }), 'AICORE')],
  thermal: [
    one('dcmi_get_device_temperature', 'temperature', (s) => ({ gpuTempC: s.temperature })),
    { api: 'dcmi_get_device_hbm_info', keys: ['hbmTotalMb'], members: ['hbmTemp'], read: (s) => ({ hbmTempC: n(s.hbmTemp) }) },
  ],
  power: [
    one('dcmi_get_device_power_info', 'powerDeciW', (s) => ({ powerW: n(s.powerDeciW) / 10 })),
    one('dcmi_get_device_voltage', 'voltageCentiV', (s) => ({ voltageV: n(s.voltageCentiV) / 100 })),
  ],
  clocks: [one('dcmi_get_device_frequency', 'aicoreFreq', (s) => ({ aicoreFreqMhz: s.aicoreFreq }), 'AICORE_CURRENT')],
  pcie: [],
  ecc: [
    {
      api: 'dcmi_get_device_ecc_info',
      qualifier: 'HBM',
      keys: ['eccHbmSingle', 'eccHbmDouble'],
      read: (s) => ({ hbmEccSbe: n(s.eccHbmSingle), hbmEccDbe: n(s.eccHbmDouble) }),
    },
  ],
  retirement: [],
  nvlink: [],
  recovery: [],
  processes: [],
  'npu-health': [
    one('dcmi_get_device_health', 'health', (s) => ({ npuHealth: s.health })),
    one('dcmi_get_device_errorcode_v2', 'errorCodes', (s) => ({ npuFaultCodes: [...(s.errorCodes ?? [])] })),
    one('dcmi_get_device_network_health', 'networkHealth', (s) => ({ npuNetworkHealth: s.networkHealth })),
  ],
};

/** The calls that fail a whole backend or a whole device when overridden. */
export const LIFECYCLE_APIS = {
  nvidia: { init: 'nvmlInitWithFlags', count: 'nvmlDeviceGetCount_v2', handle: 'nvmlDeviceGetHandleByIndex_v2' },
  ascend: { init: 'dcmi_init', count: 'dcmi_get_card_list', handle: 'dcmi_get_device_logic_id' },
} as const;

/** Identity calls (read once at open): field → function name. */
export const IDENTITY_APIS = {
  nvidia: {
    name: 'nvmlDeviceGetName',
    uuid: 'nvmlDeviceGetUUID',
    serial: 'nvmlDeviceGetSerial',
    pciBusId: 'nvmlDeviceGetPciInfo_v3',
    arch: 'nvmlDeviceGetArchitecture',
    minor: 'nvmlDeviceGetMinorNumber',
  },
  ascend: {
    name: 'dcmi_get_device_chip_info',
    uuid: 'dcmi_get_device_die_v2',
    pciBusId: 'dcmi_get_device_pcie_info_v2',
    phyId: 'dcmi_get_device_phyid_from_logicid',
  },
} as const;

type Section = NvmlSection | DcmiSection;

/**
 * One vendor section's mutable state. `reset()` returns to the scenario as loaded, which is what
 * the control surface (tests, fault injection) expects after a run of overrides.
 */
export class SimLibrary {
  readonly vendor: Vendor;
  private readonly section: Section;
  private devices: Record<string, unknown>[] = [];
  private sectionReturns: Record<string, number> = {};
  private indexes: number[] = [];

  constructor(vendor: Vendor, section: Section) {
    this.vendor = vendor;
    this.section = section;
    this.reset();
  }

  reset(): void {
    const specs: DeviceSpec[] = expandDevices<DeviceSpec>(this.section.defaults, this.section.devices);
    this.devices = specs.map((s) => structuredClone(s) as Record<string, unknown>);
    this.sectionReturns = { ...this.section.returns };
    // Ascend devices are addressed by logic id; NVIDIA by position (the NVML index).
    this.indexes = specs.map((s, i) => (this.vendor === 'ascend' ? ((s as Npu).logicId ?? i) : i));
  }

  /** Device indexes in scenario order. */
  deviceIndexes(): readonly number[] {
    return this.indexes;
  }

  /** The device's current spec (scenario units); undefined for an unknown index. */
  spec(index: number): Record<string, unknown> | undefined {
    const pos = this.indexes.indexOf(index);
    return pos < 0 ? undefined : this.devices[pos];
  }

  /** The override for `api` on `index` (the device's own first, then the section's), if any. */
  returnFor(api: string, index?: number): number | undefined {
    const own = index === undefined ? undefined : (this.spec(index)?.returns as Record<string, number> | undefined)?.[api];
    return own ?? this.sectionReturns[api];
  }

  /** `index` -1 sets the key on every device (as the native mock's control ABI does). */
  setValue(index: number, key: string, value: unknown): void {
    for (const spec of index === -1 ? this.devices : [this.requireSpec(index)]) {
      if (value === undefined) delete spec[key];
      else spec[key] = structuredClone(value);
    }
  }

  /** `index` -1 sets the section-wide override; code 0 removes the override. */
  setReturn(api: string, index: number, code: number): void {
    if (index === -1) {
      if (code === 0) delete this.sectionReturns[api];
      else this.sectionReturns[api] = code;
      return;
    }
    const spec = this.requireSpec(index);
    const returns = { ...(spec.returns as Record<string, number> | undefined) };
    if (code === 0) delete returns[api];
    else returns[api] = code;
    spec.returns = returns;
  }

  get initCode(): number {
    const legacy = this.vendor === 'nvidia' ? this.returnFor('nvmlInit_v2') : undefined;
    return this.returnFor(LIFECYCLE_APIS[this.vendor].init) ?? legacy ?? this.section.init ?? 0;
  }

  get driverVersion(): string | undefined {
    return this.section.driverVersion;
  }

  get libraryVersion(): string | undefined {
    return 'nvmlVersion' in this.section ? this.section.nvmlVersion : (this.section as DcmiSection).dcmiVersion;
  }

  private requireSpec(index: number): Record<string, unknown> {
    const spec = this.spec(index);
    if (spec === undefined) throw new BrixletError('BRX_ERR_ACCEL_DEVICE_NOT_FOUND', { index });
    return spec;
  }
}
