/**
 * The scenario format: one JSON file describes the NVIDIA and/or Ascend devices of a simulated node,
 * in the vendor libraries' own units. The native mock libraries (native/) and the sim backend read
 * the same files, so a scenario behaves the same through real FFI and in pure TypeScript.
 * mocks/README.md documents every key; `validateScenario` is the reference.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../common/errors.js';
import { suggestMany } from '../common/suggest.js';

const U32 = (description: string) => Type.Integer({ minimum: 0, maximum: 0xffffffff, description });
const U64 = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });
const Pct = (description: string) => Type.Integer({ minimum: 0, maximum: 100, description });
const Flag = (description: string) => Type.Boolean({ description });
/** Return-code overrides: function name → code, e.g. {"nvmlDeviceGetPowerUsage": 3}. */
const Returns = Type.Record(Type.String({ pattern: '^(nvml|dcmi)\\w+$' }), Type.Integer(), {
  description: 'Function name → return code the mock returns instead of running the function.',
});

export const NvmlDeviceSpec = Type.Partial(
  Type.Object(
    {
      name: Type.String({ maxLength: 95, description: 'nvmlDeviceGetName, e.g. "NVIDIA H100 80GB HBM3".' }),
      uuid: Type.String({ maxLength: 95, description: 'nvmlDeviceGetUUID, e.g. "GPU-8f3c…".' }),
      serial: Type.String({ maxLength: 29, description: 'nvmlDeviceGetSerial.' }),
      pciBusId: Type.String({ pattern: '^[0-9a-fA-F]{8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$', description: 'nvmlPciInfo_t.busId, "00000000:18:00.0".' }),
      pciDeviceId: U32('nvmlPciInfo_t.pciDeviceId (device id << 16 | vendor 0x10de).'),
      pciSubSystemId: U32('nvmlPciInfo_t.pciSubSystemId.'),
      arch: U32('nvmlDeviceGetArchitecture: 7 Ampere, 8 Ada, 9 Hopper, 10 Blackwell.'),
      minor: U32('nvmlDeviceGetMinorNumber: the device is /dev/nvidia<minor>.'),
      memoryTotal: U64('Framebuffer total, bytes.'),
      memoryUsed: U64('Framebuffer used, bytes.'),
      memoryReserved: U64('Framebuffer reserved by the driver, bytes (free = total - used - reserved).'),
      utilGpu: Pct('nvmlDeviceGetUtilizationRates.gpu, %.'),
      utilMemory: Pct('nvmlDeviceGetUtilizationRates.memory, %.'),
      utilEncoder: Pct('nvmlDeviceGetEncoderUtilization, %.'),
      utilDecoder: Pct('nvmlDeviceGetDecoderUtilization, %.'),
      tempGpu: U32('nvmlDeviceGetTemperature(GPU), °C.'),
      tempMemory: U32('Memory temperature (field 82), °C.'),
      tempSlowdown: U32('nvmlDeviceGetTemperatureThreshold(SLOWDOWN), °C.'),
      tempShutdown: U32('nvmlDeviceGetTemperatureThreshold(SHUTDOWN), °C.'),
      powerUsageMw: U32('nvmlDeviceGetPowerUsage, milliwatts.'),
      powerLimitMw: U32('nvmlDeviceGetEnforcedPowerLimit, milliwatts.'),
      energyMj: U64('nvmlDeviceGetTotalEnergyConsumption, millijoules.'),
      clockGraphics: U32('nvmlDeviceGetClockInfo(GRAPHICS), MHz.'),
      clockSm: U32('nvmlDeviceGetClockInfo(SM), MHz.'),
      clockMem: U32('nvmlDeviceGetClockInfo(MEM), MHz.'),
      maxClockSm: U32('nvmlDeviceGetMaxClockInfo(SM), MHz.'),
      pstate: Type.Integer({ minimum: 0, maximum: 32, description: 'nvmlDeviceGetPerformanceState: 0-15, 32 unknown.' }),
      clockEventReasons: U64('nvmlDeviceGetCurrentClocksEventReasons bitmask: 0x8 HW slowdown, 0x40 HW thermal, 0x80 power brake.'),
      pcieGen: U32('nvmlDeviceGetCurrPcieLinkGeneration.'),
      pcieGenMax: U32('nvmlDeviceGetMaxPcieLinkGeneration.'),
      pcieWidth: U32('nvmlDeviceGetCurrPcieLinkWidth.'),
      pcieWidthMax: U32('nvmlDeviceGetMaxPcieLinkWidth.'),
      pcieTxKBps: U32('nvmlDeviceGetPcieThroughput(TX), KB/s.'),
      pcieRxKBps: U32('nvmlDeviceGetPcieThroughput(RX), KB/s.'),
      pcieReplay: U32('nvmlDeviceGetPcieReplayCounter.'),
      eccEnabled: Flag('nvmlDeviceGetEccMode current.'),
      eccSbeVolatile: U64('nvmlDeviceGetTotalEccErrors(CORRECTED, VOLATILE).'),
      eccDbeVolatile: U64('nvmlDeviceGetTotalEccErrors(UNCORRECTED, VOLATILE).'),
      eccSbeAggregate: U64('nvmlDeviceGetTotalEccErrors(CORRECTED, AGGREGATE).'),
      eccDbeAggregate: U64('nvmlDeviceGetTotalEccErrors(UNCORRECTED, AGGREGATE).'),
      eccSramUncorrectedVolatile: U64('nvmlDeviceGetMemoryErrorCounter(UNCORRECTED, VOLATILE, SRAM).'),
      eccDramUncorrectedVolatile: U64('nvmlDeviceGetMemoryErrorCounter(UNCORRECTED, VOLATILE, DRAM).'),
      eccDramCorrectedVolatile: U64('nvmlDeviceGetMemoryErrorCounter(CORRECTED, VOLATILE, DRAM).'),
      retiredSbe: U32('nvmlDeviceGetRetiredPages(MULTIPLE_SBE) page count.'),
      retiredDbe: U32('nvmlDeviceGetRetiredPages(DBE) page count.'),
      retiredPending: Flag('nvmlDeviceGetRetiredPagesPendingStatus.'),
      remappedCorrectable: U32('nvmlDeviceGetRemappedRows corrRows.'),
      remappedUncorrectable: U32('nvmlDeviceGetRemappedRows uncRows.'),
      remapPending: Flag('nvmlDeviceGetRemappedRows isPending.'),
      remapFailure: Flag('nvmlDeviceGetRemappedRows failureOccurred.'),
      nvlinkActive: Type.Array(Type.Boolean(), { maxItems: 18, description: 'nvmlDeviceGetNvLinkState per link; the length is the link count.' }),
      nvlinkCrcFlit: Type.Array(U64('count'), { maxItems: 18, description: 'nvmlDeviceGetNvLinkErrorCounter(CRC_FLIT) per link.' }),
      nvlinkCrcData: Type.Array(U64('count'), { maxItems: 18, description: 'nvmlDeviceGetNvLinkErrorCounter(CRC_DATA) per link.' }),
      nvlinkReplay: Type.Array(U64('count'), { maxItems: 18, description: 'nvmlDeviceGetNvLinkErrorCounter(DL_REPLAY) per link.' }),
      nvlinkRecovery: Type.Array(U64('count'), { maxItems: 18, description: 'nvmlDeviceGetNvLinkErrorCounter(DL_RECOVERY) per link.' }),
      recoveryAction: Type.Integer({ minimum: 0, maximum: 4, description: 'Field 230 (GET_GPU_RECOVERY_ACTION): 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset.' }),
      processes: Type.Array(Type.Object({ pid: U32('process id'), usedMemory: U64('bytes') }, { additionalProperties: false }), {
        maxItems: 64,
        description: 'nvmlDeviceGetComputeRunningProcesses_v3.',
      }),
      returns: Returns,
      hang: Type.Record(Type.String({ pattern: '^nvml\\w+$' }), Type.Integer({ minimum: 1, maximum: 3_600_000 }), {
        description: 'Function name → milliseconds the call blocks before answering (a hung driver call); a mock reset or load ends it early.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type NvmlDeviceSpec = Static<typeof NvmlDeviceSpec>;

export const NvmlSection = Type.Object(
  {
    init: Type.Optional(Type.Integer({ description: 'Return code of nvmlInit_v2/nvmlInitWithFlags (0 = success; 9 driver not loaded, 12 library not found, 18 version mismatch).' })),
    driverVersion: Type.Optional(Type.String({ maxLength: 79, description: 'nvmlSystemGetDriverVersion.' })),
    nvmlVersion: Type.Optional(Type.String({ maxLength: 79, description: 'nvmlSystemGetNVMLVersion.' })),
    cudaDriverVersion: Type.Optional(Type.Integer({ description: 'nvmlSystemGetCudaDriverVersion_v2, e.g. 12040.' })),
    returns: Type.Optional(Returns),
    defaults: Type.Optional(NvmlDeviceSpec),
    devices: Type.Array(NvmlDeviceSpec, { maxItems: 64, description: 'One entry per GPU, in index order; each is merged over defaults.' }),
    xids: Type.Optional(
      Type.Array(Type.Object({ device: U32('GPU index'), xid: U64('XID number') }, { additionalProperties: false }), {
        description: 'XIDs queued at load, each delivered once through nvmlEventSetWait_v2.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const NpuDeviceSpec = Type.Partial(
  Type.Object(
    {
      cardId: Type.Integer({ minimum: 0, description: 'dcmi card id.' }),
      deviceId: Type.Integer({ minimum: 0, description: 'dcmi device id within the card (usually 0).' }),
      logicId: U32('dcmi_get_device_logic_id; brixlet uses it as the device index.'),
      phyId: U32('dcmi_get_device_phyid_from_logicid; npu-exporter labels use it as id.'),
      chipType: Type.String({ maxLength: 31, description: 'dcmi_chip_info.chip_type, "Ascend".' }),
      chipName: Type.String({ maxLength: 31, description: 'dcmi_chip_info.chip_name, "910B3".' }),
      chipVer: Type.String({ maxLength: 31, description: 'dcmi_chip_info.chip_ver, "V1".' }),
      aicoreCount: U32('dcmi_chip_info.aicore_cnt.'),
      dieId: Type.Array(U32('word'), { minItems: 5, maxItems: 5, description: 'dcmi_get_device_die_v2 (VDIE) five words; the device UUID is built from them.' }),
      health: U32('dcmi_get_device_health: 0 normal, 1 minor, 2 major, 3 critical, 4294967295 not present.'),
      errorCodes: Type.Array(U32('fault code'), { maxItems: 128, description: 'dcmi_get_device_errorcode_v2, unsigned (e.g. 2162314752 = 0x80E24E00).' }),
      temperature: Type.Integer({ description: 'dcmi_get_device_temperature, °C.' }),
      powerDeciW: Type.Integer({ minimum: 0, description: 'dcmi_get_device_power_info, 0.1 W units.' }),
      voltageCentiV: U32('dcmi_get_device_voltage, 0.01 V units.'),
      aicoreFreq: U32('dcmi_get_device_frequency(AICORE_CURRENT=7), MHz.'),
      aicoreMaxFreq: U32('dcmi_get_device_frequency(AICORE_MAX=9), MHz.'),
      hbmTotalMb: U64('dcmi_hbm_info.memory_size, MB.'),
      hbmUsedMb: U64('dcmi_hbm_info.memory_usage, MB.'),
      hbmTemp: Type.Integer({ description: 'dcmi_hbm_info.temp, °C.' }),
      hbmFreq: U32('dcmi_hbm_info.freq, MHz.'),
      hbmBandwidthUtil: Pct('dcmi_hbm_info.bandwith_util_rate, %.'),
      utilAicore: Pct('dcmi_get_device_utilization_rate(AICORE=2), %.'),
      utilAicpu: Pct('dcmi_get_device_utilization_rate(AICPU=3), %.'),
      utilHbm: Pct('dcmi_get_device_utilization_rate(HBM=6), %.'),
      utilVectorcore: Pct('dcmi_get_device_utilization_rate(VECTORCORE=12), %.'),
      utilNpu: Pct('dcmi_get_device_utilization_rate(NPU=13), %.'),
      eccHbmSingle: U32('dcmi_ecc_info.single_bit_error_cnt for HBM.'),
      eccHbmDouble: U32('dcmi_ecc_info.double_bit_error_cnt for HBM.'),
      networkHealth: Type.Integer({ minimum: 0, maximum: 6, description: 'dcmi_get_device_network_health: 0 ok … 5 fault, 6 init.' }),
      pciDomain: U32('dcmi_pcie_info_all.domain.'),
      pciBus: U32('dcmi_pcie_info_all.bdf_busid.'),
      pciDevice: U32('dcmi_pcie_info_all.bdf_deviceid.'),
      pciFunc: U32('dcmi_pcie_info_all.bdf_funcid.'),
      returns: Returns,
      hang: Type.Record(Type.String({ pattern: '^dcmi_\\w+$' }), Type.Integer({ minimum: 1, maximum: 3_600_000 }), {
        description: 'Function name → milliseconds the call blocks before answering (a hung driver call); a mock reset or load ends it early.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type NpuDeviceSpec = Static<typeof NpuDeviceSpec>;

export const DcmiSection = Type.Object(
  {
    init: Type.Optional(Type.Integer({ description: 'Return code of dcmi_init (0 = success; -8005 inner error).' })),
    driverVersion: Type.Optional(Type.String({ maxLength: 63, description: 'dcmi_get_driver_version.' })),
    dcmiVersion: Type.Optional(Type.String({ maxLength: 63, description: 'dcmi_get_dcmi_version.' })),
    returns: Type.Optional(Returns),
    defaults: Type.Optional(NpuDeviceSpec),
    devices: Type.Array(NpuDeviceSpec, { maxItems: 64, description: 'One entry per NPU chip; each is merged over defaults.' }),
  },
  { additionalProperties: false },
);

export const Scenario = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Same as the file name without .json.' }),
    description: Type.String({ description: 'What the scenario simulates and what a user should see.' }),
    nvml: Type.Optional(NvmlSection),
    dcmi: Type.Optional(DcmiSection),
  },
  { additionalProperties: false },
);
export type Scenario = Static<typeof Scenario>;
export type NvmlSection = Static<typeof NvmlSection>;
export type DcmiSection = Static<typeof DcmiSection>;

/** Validates a parsed scenario; throws BRX_ERR_ACCEL_SCENARIO listing every problem. */
export function validateScenario(value: unknown, source: string): Scenario {
  if (Value.Check(Scenario, value)) return value;
  const problems = [...Value.Errors(Scenario, value)].slice(0, 20).map((e) => `${e.path || '/'}: ${e.message}`);
  throw new BrixletError('BRX_ERR_ACCEL_SCENARIO', { source, reason: problems.join('; ') }, { details: problems });
}

/** A scenario is a few KiB; anything near this is not one (and `sim:/dev/zero` must not fill memory). */
export const SCENARIO_MAX_BYTES = 1024 * 1024;

/**
 * Reads and validates a scenario file. `--accel sim:PATH` takes any path, so the file is opened
 * non-blocking (a FIFO must not hang the agent), must be a regular file, is read with the size cap
 * enforced while reading (a file may grow after fstat), and no error quotes its content: V8's JSON
 * errors do, so only the position is kept.
 */
export function loadScenarioFile(path: string): Scenario {
  const text = readCapped(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BrixletError('BRX_ERR_ACCEL_SCENARIO', { source: path, reason: `not JSON${jsonPosition(err)}` });
  }
  return validateScenario(parsed, path);
}

function readCapped(path: string): string {
  const invalid = (reason: string, cause?: unknown) => new BrixletError('BRX_ERR_ACCEL_SCENARIO', { source: path, reason }, cause === undefined ? undefined : { cause });
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? 'error'})`, err);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw invalid('not a regular file');
    if (stat.size > SCENARIO_MAX_BYTES) throw invalid(`larger than ${SCENARIO_MAX_BYTES} bytes`);
    const buf = Buffer.alloc(SCENARIO_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > SCENARIO_MAX_BYTES) throw invalid(`larger than ${SCENARIO_MAX_BYTES} bytes`);
    }
    return buf.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof BrixletError) throw err;
    throw invalid(`cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  } finally {
    closeSync(fd);
  }
}

/** " at position N" from a JSON.parse error, never the text around it. */
function jsonPosition(err: unknown): string {
  const m = /at position (\d+)/.exec(err instanceof Error ? err.message : '');
  return m === null ? '' : ` (at position ${m[1]})`;
}

/** The effective spec of each device: defaults merged under the device's own keys. */
export function expandDevices<T extends object>(defaults: T | undefined, devices: readonly T[]): T[] {
  return devices.map((d) => ({ ...(defaults ?? {}), ...d, ...mergeReturns(defaults, d) }));
}

function mergeReturns(a: object | undefined, b: object): { returns?: Record<string, number> } {
  const ra = (a as { returns?: Record<string, number> } | undefined)?.returns;
  const rb = (b as { returns?: Record<string, number> }).returns;
  return ra === undefined && rb === undefined ? {} : { returns: { ...ra, ...rb } };
}

/** The shipped scenarios: <package root>/mocks/scenarios (the same from src/ and dist/). */
export const SCENARIO_DIR = fileURLToPath(new URL('../../mocks/scenarios/', import.meta.url));

/** Names of the shipped scenarios, sorted (for "did you mean" and the list in the error). */
export function shippedScenarios(): string[] {
  try {
    return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
  } catch {
    return [];
  }
}

/** `healthy-8x-h100` → the shipped file; anything with a slash or ending in .json is a path. */
export function resolveScenario(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return nameOrPath;
  const path = `${SCENARIO_DIR}${nameOrPath}.json`;
  if (!existsSync(path)) {
    const names = shippedScenarios();
    const hints = suggestMany(nameOrPath, names);
    const reason = `no scenario of that name in ${SCENARIO_DIR}${hints.length > 0 ? `; did you mean ${hints.join(', ')}?` : ''}; shipped: ${names.join(', ')}`;
    throw new BrixletError('BRX_ERR_ACCEL_SCENARIO', { source: nameOrPath, reason }, { details: [{ unknown: nameOrPath, suggestions: hints }] });
  }
  return path;
}
