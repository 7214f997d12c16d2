/**
 * libnvidia-ml.so.1 through koffi: every function brixlet calls, declared once and resolved on
 * first use, plus one preallocated scratch area that every out-parameter points into, so a
 * sampling call allocates nothing on either side of the FFI boundary.
 */
import { NativeLibrary, type NativeSignature } from '../native-library.js';

const sig = (names: string | readonly string[], params: readonly string[]): NativeSignature => ({
  names: typeof names === 'string' ? [names] : names,
  result: 'int',
  params,
});
// Handles are opaque pointers (BigInt in koffi 3); out-parameters are `void *` so typed-array
// views of the scratch area pass straight through without marshalling.
const H = 'void *';
const P = 'void *';
const U = 'uint32_t';

export const NVML_SIGNATURES = {
  initWithFlags: sig('nvmlInitWithFlags', [U]),
  init: sig(['nvmlInit_v2', 'nvmlInit'], []),
  shutdown: sig('nvmlShutdown', []),
  driverVersion: sig('nvmlSystemGetDriverVersion', [P, U]),
  nvmlVersion: sig('nvmlSystemGetNVMLVersion', [P, U]),
  count: sig(['nvmlDeviceGetCount_v2', 'nvmlDeviceGetCount'], [P]),
  handleByIndex: sig(['nvmlDeviceGetHandleByIndex_v2', 'nvmlDeviceGetHandleByIndex'], [U, P]),
  name: sig('nvmlDeviceGetName', [H, P, U]),
  uuid: sig('nvmlDeviceGetUUID', [H, P, U]),
  serial: sig('nvmlDeviceGetSerial', [H, P, U]),
  // v2 and v3 share the 68-byte layout with busId at offset 36.
  pciInfo: sig(['nvmlDeviceGetPciInfo_v3', 'nvmlDeviceGetPciInfo_v2'], [H, P]),
  architecture: sig('nvmlDeviceGetArchitecture', [H, P]),
  minor: sig('nvmlDeviceGetMinorNumber', [H, P]),
  memoryV2: sig('nvmlDeviceGetMemoryInfo_v2', [H, P]),
  memory: sig('nvmlDeviceGetMemoryInfo', [H, P]),
  utilization: sig('nvmlDeviceGetUtilizationRates', [H, P]),
  encoder: sig('nvmlDeviceGetEncoderUtilization', [H, P, P]),
  decoder: sig('nvmlDeviceGetDecoderUtilization', [H, P, P]),
  temperature: sig('nvmlDeviceGetTemperature', [H, U, P]),
  temperatureThreshold: sig('nvmlDeviceGetTemperatureThreshold', [H, U, P]),
  fieldValues: sig('nvmlDeviceGetFieldValues', [H, 'int', P]),
  powerUsage: sig('nvmlDeviceGetPowerUsage', [H, P]),
  powerLimit: sig('nvmlDeviceGetEnforcedPowerLimit', [H, P]),
  energy: sig('nvmlDeviceGetTotalEnergyConsumption', [H, P]),
  clock: sig('nvmlDeviceGetClockInfo', [H, U, P]),
  maxClock: sig('nvmlDeviceGetMaxClockInfo', [H, U, P]),
  pstate: sig('nvmlDeviceGetPerformanceState', [H, P]),
  // Renamed in r535; older drivers only export the throttle name (same signature and bits).
  clockEventReasons: sig(['nvmlDeviceGetCurrentClocksEventReasons', 'nvmlDeviceGetCurrentClocksThrottleReasons'], [H, P]),
  pcieGen: sig('nvmlDeviceGetCurrPcieLinkGeneration', [H, P]),
  pcieGenMax: sig('nvmlDeviceGetMaxPcieLinkGeneration', [H, P]),
  pcieWidth: sig('nvmlDeviceGetCurrPcieLinkWidth', [H, P]),
  pcieWidthMax: sig('nvmlDeviceGetMaxPcieLinkWidth', [H, P]),
  pcieThroughput: sig('nvmlDeviceGetPcieThroughput', [H, U, P]),
  pcieReplay: sig('nvmlDeviceGetPcieReplayCounter', [H, P]),
  eccMode: sig('nvmlDeviceGetEccMode', [H, P, P]),
  totalEcc: sig('nvmlDeviceGetTotalEccErrors', [H, U, U, P]),
  memoryErrorCounter: sig('nvmlDeviceGetMemoryErrorCounter', [H, U, U, U, P]),
  retiredPages: sig('nvmlDeviceGetRetiredPages', [H, U, P, P]),
  retiredPending: sig('nvmlDeviceGetRetiredPagesPendingStatus', [H, P]),
  remappedRows: sig('nvmlDeviceGetRemappedRows', [H, P, P, P, P]),
  nvlinkState: sig('nvmlDeviceGetNvLinkState', [H, U, P]),
  nvlinkErrorCounter: sig('nvmlDeviceGetNvLinkErrorCounter', [H, U, U, P]),
  processes: sig(['nvmlDeviceGetComputeRunningProcesses_v3', 'nvmlDeviceGetComputeRunningProcesses_v2', 'nvmlDeviceGetComputeRunningProcesses'], [H, P, P]),
} as const;

export type NvmlApi = keyof typeof NVML_SIGNATURES;

/** Bytes per nvmlProcessInfo_t element for each exported version of the processes call. */
export const PROCESS_INFO_STRIDE: Record<string, number> = {
  nvmlDeviceGetComputeRunningProcesses_v3: 32,
  nvmlDeviceGetComputeRunningProcesses_v2: 24,
  nvmlDeviceGetComputeRunningProcesses: 16,
};

const SLOT = 64;
const SLOTS = 4;
const STRING_OFFSET = SLOT * SLOTS;
export const STRING_BYTES = 256;
const SCRATCH_BYTES = STRING_OFFSET + STRING_BYTES;

/**
 * Out-parameter memory reused by every call on the main thread (calls are synchronous, so one
 * area suffices). Slots are 64 bytes: room for the largest fixed struct (nvmlPciInfo_t, 68 bytes,
 * spans slots 0-1).
 */
export class Scratch {
  readonly bytes = new Uint8Array(SCRATCH_BYTES);
  readonly view = new DataView(this.bytes.buffer);
  readonly slots: readonly Uint8Array[] = Array.from({ length: SLOTS }, (_, i) => this.bytes.subarray(i * SLOT, (i + 1) * SLOT));
  readonly string = this.bytes.subarray(STRING_OFFSET, STRING_OFFSET + STRING_BYTES);

  u32(slot: number, offset = 0): number {
    return this.view.getUint32(slot * SLOT + offset, true);
  }

  i32(slot: number, offset = 0): number {
    return this.view.getInt32(slot * SLOT + offset, true);
  }

  /** 64-bit counter as a number: exact below 2^53, the nearest double above (no BigInt on the hot path). */
  u64(slot: number, offset = 0): number {
    const at = slot * SLOT + offset;
    return this.view.getUint32(at + 4, true) * 0x1_0000_0000 + this.view.getUint32(at, true);
  }

  setU32(slot: number, offset: number, value: number): void {
    this.view.setUint32(slot * SLOT + offset, value, true);
  }

  clear(slot: number): void {
    this.slots[slot]?.fill(0);
  }

  /** The C string in `string`, cut at the first NUL. */
  text(): string {
    return cString(this.string);
  }
}

export function cString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const nul = bytes.indexOf(0, start);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, (nul === -1 || nul > end ? end : nul) - start).toString('utf8').trim();
}

export class NvmlLibrary {
  readonly scratch = new Scratch();

  private constructor(readonly native: NativeLibrary<NvmlApi>) {}

  static open(path: string): NvmlLibrary | Error {
    const native = NativeLibrary.open(path, NVML_SIGNATURES);
    return native instanceof Error ? native : new NvmlLibrary(native);
  }

  get path(): string {
    return this.native.path;
  }

  unload(): void {
    this.native.unload();
  }
}
