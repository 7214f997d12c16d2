/**
 * One group read of one GPU: makes its native calls through NvmlLibrary.invoke (synchronous calls in
 * the NVML read thread, or koffi's async path where that thread cannot run; never a blocking call on
 * the main thread), remembers NOT_SUPPORTED per (device, api) so an unsupported call is made once per
 * device object's lifetime (the read thread's devices, re-learnt by a replacement thread), and
 * collects what failed. A call that does not return in time ends the read: the device's later reads
 * make no call until it has returned.
 */
import { type ApiError, CALL_TIMEOUT, type DeviceSample } from '../types.js';
import { CALL_STUCK, type NvmlApi, NVML_SIGNATURES, type NvmlLibrary, Scratch } from './library.js';
import { NVML_ERROR_FUNCTION_NOT_FOUND, NVML_ERROR_GPU_IS_LOST, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, nvmlError } from './returns.js';

export interface NvmlDevice {
  readonly index: number;
  /** Undefined while nvmlDeviceGetHandleByIndex fails (e.g. GPU_IS_LOST at start): retried on every read. */
  handle?: bigint;
  /** API labels found NOT_SUPPORTED (or not exported) on this device: never called again. */
  readonly unsupported: Set<string>;
  /** NVLink count, found on the first nvlink read (0 = none). */
  linkCount?: number;
}

// Labels are built once: a sample makes hundreds of calls and string building would dominate them.
const LABELS = new Map<NvmlApi, Map<string | number | undefined, string>>();

function apiLabel(api: NvmlApi, qualifier: string | number | undefined): string {
  let byQualifier = LABELS.get(api);
  if (byQualifier === undefined) LABELS.set(api, (byQualifier = new Map()));
  let label = byQualifier.get(qualifier);
  if (label === undefined) {
    const base = NVML_SIGNATURES[api].names[0] ?? api;
    label = qualifier === undefined ? base : `${base}(${qualifier})`;
    byQualifier.set(qualifier, label);
  }
  return label;
}

export class ReadContext {
  readonly values: DeviceSample = {};
  readonly errors: ApiError[] = [];
  private readonly skipped = new Set<string>();
  /** After GPU_IS_LOST (or a call that did not return) every further call of this read would fail the same way: stop calling. */
  private lost = false;

  /**
   * `scratch` holds the out-parameters. On the async path each read has its own: reads of several
   * GPUs run at once, and a call that timed out may still write into its buffer when it returns.
   * The read thread, whose reads run one after another and which makes no call after a timed-out
   * one, passes one for all its reads (an ArrayBuffer per read showed in its profile).
   */
  constructor(
    private readonly lib: NvmlLibrary,
    readonly device: NvmlDevice,
    readonly scratch: Scratch = new Scratch(),
  ) {}

  get unsupported(): string[] {
    return [...this.skipped];
  }

  /** `nvmlDeviceGetClockInfo(SM)`: the name used in errors and `unsupported`. */
  label(api: NvmlApi, qualifier?: string | number): string {
    return apiLabel(api, qualifier);
  }

  /** The symbol `api` resolved to (which struct version it speaks), undefined when not exported. */
  symbol(api: NvmlApi): string | undefined {
    return this.lib.native.resolve(api)?.name;
  }

  isUnsupported(api: NvmlApi, qualifier?: string | number): boolean {
    return this.device.unsupported.has(this.label(api, qualifier));
  }

  /**
   * Calls `api` with the device handle followed by `args`; resolves with the nvmlReturn_t.
   * NOT_SUPPORTED and a missing symbol are remembered; `expected` codes are the caller's to
   * interpret (e.g. INSUFFICIENT_SIZE); anything else is recorded in `errors`.
   */
  async call(api: NvmlApi, qualifier: string | number | undefined, args: readonly unknown[], expected?: readonly number[]): Promise<number> {
    const label = this.label(api, qualifier);
    if (this.device.unsupported.has(label)) {
      this.skipped.add(label);
      return NVML_ERROR_NOT_SUPPORTED;
    }
    if (this.lost) return NVML_ERROR_GPU_IS_LOST;
    const blocked = this.lib.blocked(this.device.index);
    if (blocked !== undefined) return this.stuck(blocked);
    const resolved = this.lib.native.resolve(api);
    const rc = resolved === undefined ? NVML_ERROR_FUNCTION_NOT_FOUND : await this.lib.invoke(resolved.fn, label, this.device.index, [this.device.handle ?? 0n, ...args]);
    if (rc === CALL_STUCK) return this.stuck(this.lib.blocked(this.device.index) ?? { api: label, message: `${label} did not return within ${this.lib.callTimeoutMs} ms` });
    return this.judge(label, rc, expected);
  }

  /** Records a code as if `api` had returned it (a field's own code, a probe's verdict). */
  replay(api: NvmlApi, qualifier: string | number | undefined, rc: number): number {
    return this.judge(this.label(api, qualifier), rc);
  }

  private stuck(why: { readonly api: string; readonly message: string }): number {
    this.lost = true;
    this.errors.push({ api: why.api, code: CALL_TIMEOUT, value: -1, message: why.message });
    return CALL_STUCK;
  }

  private judge(label: string, rc: number, expected?: readonly number[]): number {
    if (rc === NVML_SUCCESS || expected?.includes(rc)) return rc;
    if (rc === NVML_ERROR_NOT_SUPPORTED || rc === NVML_ERROR_FUNCTION_NOT_FOUND) {
      this.device.unsupported.add(label);
      this.skipped.add(label);
      return rc;
    }
    if (rc === NVML_ERROR_GPU_IS_LOST) this.lost = true;
    this.errors.push(nvmlError(label, rc));
    return rc;
  }

  /** A call whose only out-parameter is one unsigned int in slot 0; undefined when it failed. */
  async u32(api: NvmlApi, qualifier?: string | number, arg?: number): Promise<number | undefined> {
    const s0 = this.scratch.slots[0];
    const rc = await this.call(api, qualifier, arg === undefined ? [s0] : [arg, s0]);
    return rc === NVML_SUCCESS ? this.scratch.u32(0) : undefined;
  }

  /** Same for one unsigned long long. */
  async u64(api: NvmlApi, qualifier?: string | number, arg?: number): Promise<number | undefined> {
    const s0 = this.scratch.slots[0];
    const rc = await this.call(api, qualifier, arg === undefined ? [s0] : [arg, s0]);
    return rc === NVML_SUCCESS ? this.scratch.u64(0) : undefined;
  }

  /**
   * One nvmlFieldValue_t (40 bytes: fieldId, scopeId, timestamp, latency, valueType, nvmlReturn,
   * value@32). The field's own return code counts like a call's: NOT_SUPPORTED is remembered.
   */
  async field(fieldId: number): Promise<number | undefined> {
    const s = this.scratch;
    s.clear(0);
    s.setU32(0, 0, fieldId);
    const s0 = s.slots[0];
    if ((await this.call('fieldValues', fieldId, [1, s0])) !== NVML_SUCCESS) return undefined;
    const fieldRc = s.u32(0, 28);
    if (fieldRc !== NVML_SUCCESS) {
      // Replay the per-field code so it is remembered or recorded like any other.
      this.replay('fieldValues', fieldId, fieldRc);
      return undefined;
    }
    switch (s.u32(0, 24)) {
      case 0:
        return s.view.getFloat64(32, true);
      case 1:
        return s.u32(0, 32);
      case 4:
        return Number(s.view.getBigInt64(32, true));
      case 5:
        return s.i32(0, 32);
      default:
        return s.u64(0, 32);
    }
  }
}
