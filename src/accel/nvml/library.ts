/**
 * libnvidia-ml.so.1 through koffi: every function brixlet calls, declared once and resolved on
 * first use. Sampling calls go through `invoke`: in the NVML read thread (read-worker.ts) they are
 * plain synchronous calls stamped in a CallWatch, which the main thread's watchdog reads to time
 * each one out (read-thread.ts); where that thread cannot run (no compiled worker, e.g. unit tests
 * over fake libraries) they run on koffi's async path, one at a time and each with a timeout. Either
 * way a driver call that hangs never blocks the main thread (which also serves the KV socket and
 * HTTP). Open, handle and identity reads on the main thread stay synchronous and use the library's
 * own scratch area.
 */
import { type CallBlocked, MAX_STUCK_CALLS, type StuckCall, StuckCalls, TIMED_OUT, withTimeout } from '../call-timeout.js';
import { NativeLibrary, type NativeFunction, type NativeSignature } from '../native-library.js';
import { CallAbandoned, type CallWatch } from './call-watch.js';

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
 * Out-parameter memory: one for the library's synchronous open-time calls, one per group read.
 * Slots are 64 bytes: room for the largest fixed struct (nvmlPciInfo_t, 68 bytes, spans slots 0-1).
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

/** What `invoke` resolves with when the call did not return in time (or was not made): not an nvmlReturn_t. */
export const CALL_STUCK = -1;
/** koffi reports a failure of the async machinery itself; NVML_ERROR_UNKNOWN stands for it. */
const NVML_ERROR_UNKNOWN = 999;
const NVML_ERROR_UNINITIALIZED = 1;
/**
 * Stuck calls tolerated before no NVML call is made at all (call-timeout.ts). Each holds a thread (a
 * read thread set aside, or on the async fallback a libuv pool thread), so at most two are ever
 * taken by a hung driver.
 */
export { MAX_STUCK_CALLS, type StuckCall };

export class NvmlLibrary {
  readonly scratch = new Scratch();
  /** How long a sampling call may run before its device is judged unknown (accel.callTimeout). */
  callTimeoutMs = 2000;
  private readonly stuckCalls = new StuckCalls({ library: 'NVML', device: 'GPU' });
  /** Calls run one at a time: NVML serialises most of them anyway, and one running call is one pool thread. */
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private running?: Promise<unknown>;
  private unloaded = false;
  /**
   * Set in the read thread: calls are made synchronously, each stamped here for the main thread's
   * watchdog; a thread the main thread has abandoned throws CallAbandoned instead of calling.
   */
  watch?: CallWatch;

  private constructor(readonly native: NativeLibrary<NvmlApi>) {}

  /**
   * Calls `fn(...args)` and answers its nvmlReturn_t. With a watch (the read thread) the call is
   * synchronous: a thread-pool hop costs 50-100 times the call, and the watchdog times it out from
   * the other side. Without one it runs on the thread pool and resolves with CALL_STUCK when it did
   * not return within callTimeoutMs (the call stays stuck on its pool thread; the device's later
   * calls are refused until it returns, see `blocked`).
   */
  invoke(fn: NativeFunction, api: string, device: number, args: readonly unknown[]): number | Promise<number> {
    const watch = this.watch;
    if (watch === undefined) return this.invokeAsync(fn, api, device, args);
    if (!watch.begin(device, api)) throw new CallAbandoned();
    const rc = fn(...args) as number;
    if (watch.end()) throw new CallAbandoned();
    return rc;
  }

  private async invokeAsync(fn: NativeFunction, api: string, device: number, args: readonly unknown[]): Promise<number> {
    await this.turn();
    // A read that spans close(): answer like an uninitialised library instead of calling into unmapped code.
    if (this.unloaded) {
      this.next();
      return NVML_ERROR_UNINITIALIZED;
    }
    if (this.blocked(device) !== undefined) {
      this.next();
      return CALL_STUCK;
    }
    let stuck: StuckCall | undefined;
    const done = new Promise<number>((resolve) => {
      fn.async(...args, (err: unknown, rc: number) => {
        if (stuck !== undefined) this.returned(stuck);
        resolve(err ? NVML_ERROR_UNKNOWN : rc);
      });
    });
    this.running = done;
    const answer = await withTimeout(done, this.callTimeoutMs);
    const rc = answer === TIMED_OUT ? CALL_STUCK : answer;
    if (answer === TIMED_OUT) stuck = this.noteStuck(api, device, args);
    this.running = undefined;
    this.next();
    return rc;
  }

  /**
   * Records a call that did not return in time (on the thread pool here, or in a read thread the
   * main thread set aside): its device is blocked and the process leaves through _exit until
   * `returned` is called with what this answers.
   */
  noteStuck(api: string, device: number, args: readonly unknown[] = []): StuckCall {
    return this.stuckCalls.note(api, device, args);
  }

  /** The stuck call has returned: its device may be called again. */
  returned(stuck: StuckCall): void {
    this.stuckCalls.returned(stuck);
  }

  /**
   * Why calls to `device` are not made now (one of its calls is stuck, or too many are), or
   * undefined. Device -1 is a call of no device (a read thread's nvmlInit or nvmlShutdown).
   */
  blocked(device: number): CallBlocked | undefined {
    return this.stuckCalls.blocked(device, this.callTimeoutMs);
  }

  /** Calls still running on the thread pool: the library must not be unloaded under them. */
  get stuck(): number {
    return this.stuckCalls.size;
  }

  private turn(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter();
    else this.busy = false;
  }

  /** Waits for the call in progress (not for stuck ones). */
  async idle(): Promise<void> {
    while (this.running !== undefined || this.busy) await (this.running ?? new Promise((r) => setImmediate(r)));
  }

  static open(path: string): NvmlLibrary | Error {
    const native = NativeLibrary.open(path, NVML_SIGNATURES);
    return native instanceof Error ? native : new NvmlLibrary(native);
  }

  get path(): string {
    return this.native.path;
  }

  unload(): void {
    this.unloaded = true;
    this.native.unload();
  }
}
