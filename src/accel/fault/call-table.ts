/**
 * The native calls each backend makes per probe group, named as the backends name them in
 * `errors` and `unsupported` (`nvmlDeviceGetClockInfo(SM)`), with the DeviceSample fields each
 * fills. The fault decorator works on these calls: a return-code effect fails a call and drops
 * its fields; a value override lands on the call that produces the field. Facts about the nvml and
 * dcmi backends (their groups.ts files), kept here because src/accel/fault may not import them.
 */
import { PROBE_GROUPS, type DeviceSample, type ProbeGroup, type Vendor } from '../types.js';

export type SampleField = keyof DeviceSample;

export interface FaultCall {
  /** The label the backend reports: function name, plus `(qualifier)` for a variant of the call. */
  readonly label: string;
  /** Function names (exported versions) a rule's `api` may use for this call; the first is the label's. */
  readonly fns: readonly string[];
  readonly fields: readonly SampleField[];
}

const call = (label: string, fields: readonly SampleField[], aliases: readonly string[] = []): FaultCall => ({
  label,
  fns: [label.replace(/\(.*$/, ''), ...aliases],
  fields,
});

const NVIDIA: Readonly<Record<ProbeGroup, readonly FaultCall[]>> = {
  memory: [
    call('nvmlDeviceGetMemoryInfo_v2', ['memoryTotalBytes', 'memoryUsedBytes', 'memoryFreeBytes', 'memoryReservedBytes'], ['nvmlDeviceGetMemoryInfo']),
  ],
  utilization: [
    call('nvmlDeviceGetUtilizationRates', ['gpuUtilPercent', 'memoryUtilPercent']),
    call('nvmlDeviceGetEncoderUtilization', ['encoderUtilPercent']),
    call('nvmlDeviceGetDecoderUtilization', ['decoderUtilPercent']),
  ],
  thermal: [
    call('nvmlDeviceGetTemperature', ['gpuTempC']),
    call('nvmlDeviceGetFieldValues(82)', ['memoryTempC']),
    call('nvmlDeviceGetTemperatureThreshold(SLOWDOWN)', ['slowdownTempC']),
    call('nvmlDeviceGetTemperatureThreshold(SHUTDOWN)', ['shutdownTempC']),
  ],
  power: [
    call('nvmlDeviceGetPowerUsage', ['powerW']),
    call('nvmlDeviceGetEnforcedPowerLimit', ['powerLimitW']),
    call('nvmlDeviceGetTotalEnergyConsumption', ['energyMj']),
  ],
  clocks: [
    call('nvmlDeviceGetClockInfo(GRAPHICS)', ['graphicsClockMhz']),
    call('nvmlDeviceGetClockInfo(SM)', ['smClockMhz']),
    call('nvmlDeviceGetClockInfo(MEM)', ['memClockMhz']),
    call('nvmlDeviceGetMaxClockInfo(SM)', ['maxSmClockMhz']),
    call('nvmlDeviceGetPerformanceState', ['pstate']),
    call('nvmlDeviceGetCurrentClocksEventReasons', ['clockEventReasons'], ['nvmlDeviceGetCurrentClocksThrottleReasons']),
  ],
  pcie: [
    call('nvmlDeviceGetCurrPcieLinkGeneration', ['pcieGen']),
    call('nvmlDeviceGetMaxPcieLinkGeneration', ['pcieGenMax']),
    call('nvmlDeviceGetCurrPcieLinkWidth', ['pcieWidth']),
    call('nvmlDeviceGetMaxPcieLinkWidth', ['pcieWidthMax']),
    call('nvmlDeviceGetPcieThroughput(TX)', ['pcieTxKBps']),
    call('nvmlDeviceGetPcieThroughput(RX)', ['pcieRxKBps']),
    call('nvmlDeviceGetPcieReplayCounter', ['pcieReplayCount']),
  ],
  ecc: [
    call('nvmlDeviceGetEccMode', ['eccEnabled']),
    call('nvmlDeviceGetTotalEccErrors(CORRECTED,VOLATILE)', ['eccSbeVolatile']),
    call('nvmlDeviceGetTotalEccErrors(UNCORRECTED,VOLATILE)', ['eccDbeVolatile']),
    call('nvmlDeviceGetTotalEccErrors(CORRECTED,AGGREGATE)', ['eccSbeAggregate']),
    call('nvmlDeviceGetTotalEccErrors(UNCORRECTED,AGGREGATE)', ['eccDbeAggregate']),
    call('nvmlDeviceGetMemoryErrorCounter(UNCORRECTED,VOLATILE,SRAM)', ['eccSramUncorrectedVolatile']),
    call('nvmlDeviceGetMemoryErrorCounter(UNCORRECTED,VOLATILE,DRAM)', ['eccDramUncorrectedVolatile']),
    call('nvmlDeviceGetMemoryErrorCounter(CORRECTED,VOLATILE,DRAM)', ['eccDramCorrectedVolatile']),
  ],
  retirement: [
    call('nvmlDeviceGetRetiredPages(MULTIPLE_SBE)', ['retiredPagesSbe']),
    call('nvmlDeviceGetRetiredPages(DBE)', ['retiredPagesDbe']),
    call('nvmlDeviceGetRetiredPagesPendingStatus', ['retiredPagesPending']),
    call('nvmlDeviceGetRemappedRows', ['remappedRowsCorrectable', 'remappedRowsUncorrectable', 'remapPending', 'remapFailure']),
  ],
  nvlink: [
    call('nvmlDeviceGetFieldValues(91)', []),
    call('nvmlDeviceGetNvLinkState', ['nvlinks']),
    call('nvmlDeviceGetNvLinkErrorCounter(DL_REPLAY)', []),
    call('nvmlDeviceGetNvLinkErrorCounter(DL_RECOVERY)', []),
    call('nvmlDeviceGetNvLinkErrorCounter(CRC_FLIT)', []),
    call('nvmlDeviceGetNvLinkErrorCounter(CRC_DATA)', []),
  ],
  recovery: [call('nvmlDeviceGetFieldValues(230)', ['recoveryAction'])],
  processes: [call('nvmlDeviceGetComputeRunningProcesses_v3', ['processes'], ['nvmlDeviceGetComputeRunningProcesses_v2', 'nvmlDeviceGetComputeRunningProcesses'])],
  'npu-health': [],
};

const HBM = call('dcmi_get_device_hbm_info', ['memoryTotalBytes', 'hbmTotalBytes', 'memoryUsedBytes', 'hbmUsedBytes', 'memoryFreeBytes']);

const ASCEND: Readonly<Record<ProbeGroup, readonly FaultCall[]>> = {
  memory: [HBM],
  utilization: [call('dcmi_get_device_utilization_rate(AICORE)', ['aicoreUtilPercent', 'gpuUtilPercent'])],
  // The thermal group reads the HBM temperature from the same HBM call the memory group makes.
  thermal: [call('dcmi_get_device_temperature', ['gpuTempC']), call('dcmi_get_device_hbm_info', ['hbmTempC'])],
  power: [call('dcmi_get_device_power_info', ['powerW']), call('dcmi_get_device_voltage', ['voltageV'])],
  clocks: [call('dcmi_get_device_frequency(AICORE_CURRENT)', ['aicoreFreqMhz'])],
  pcie: [],
  ecc: [call('dcmi_get_device_ecc_info(HBM)', ['hbmEccSbe', 'hbmEccDbe'])],
  retirement: [],
  nvlink: [],
  recovery: [],
  processes: [],
  'npu-health': [
    call('dcmi_get_device_health', ['npuHealth']),
    call('dcmi_get_device_errorcode_v2', ['npuFaultCodes']),
    call('dcmi_get_device_network_health', ['npuNetworkHealth']),
  ],
};

export const CALL_TABLE: Readonly<Record<Vendor, Readonly<Record<ProbeGroup, readonly FaultCall[]>>>> = { nvidia: NVIDIA, ascend: ASCEND };

/** The functions a library's initialisation goes through: an `init` rule fails these. */
export const INIT_FNS: Readonly<Record<Vendor, readonly string[]>> = {
  nvidia: ['nvmlInit_v2', 'nvmlInitWithFlags'],
  ascend: ['dcmi_init'],
};

/** The label an in-process init failure is reported under (the call the backend makes). */
export const INIT_LABEL: Readonly<Record<Vendor, string>> = { nvidia: 'nvmlInitWithFlags', ascend: 'dcmi_init' };

/** The synthetic call an XID-only rule is evaluated as (where NVML delivers XIDs). */
export const XID_CALL = 'nvmlEventSetWait_v2';

export interface FieldProducer {
  readonly group: ProbeGroup;
  readonly call: FaultCall;
}

/** Field → the first call (and its group) that produces it, per vendor; absent when the vendor has no such reading. */
export const FIELD_PRODUCER: Readonly<Record<Vendor, ReadonlyMap<SampleField, FieldProducer>>> = {
  nvidia: producers(NVIDIA),
  ascend: producers(ASCEND),
};

function producers(table: Readonly<Record<ProbeGroup, readonly FaultCall[]>>): Map<SampleField, FieldProducer> {
  const out = new Map<SampleField, FieldProducer>();
  for (const group of PROBE_GROUPS) {
    for (const c of table[group]) for (const f of c.fields) if (!out.has(f)) out.set(f, { group, call: c });
  }
  return out;
}

/** Every function name the table knows for a vendor (for validation hints and the rule file). */
export function knownFns(vendor: Vendor): ReadonlySet<string> {
  const out = new Set<string>(INIT_FNS[vendor]);
  for (const group of PROBE_GROUPS) for (const c of CALL_TABLE[vendor][group]) for (const fn of c.fns) out.add(fn);
  return out;
}
