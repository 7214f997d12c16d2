/**
 * libdcmi.so through koffi. DCMI calls take 1–4 ms on real hardware, so every call goes through
 * koffi's async path (libuv thread pool) and gets its own out-parameter memory: calls of several
 * devices may be in flight at once. Sampling calls (`sample`) are each raced against
 * accel.callTimeout, as NVML's async path: one that does not return in time is answered as stuck
 * (its chip unknown, see call-timeout.ts), keeps its pool thread and its out-parameters until the
 * driver answers, and its chip makes no further call until then; past MAX_STUCK_CALLS no DCMI call
 * is made at all, and the library is never unloaded under a stuck call. Open-time calls (`call`)
 * have no timeout.
 */
import { type CallBlocked, type StuckCall, StuckCalls, TIMED_OUT, withTimeout } from '../call-timeout.js';
import { NativeLibrary, type NativeSignature } from '../native-library.js';
import { DCMI_ERR_INNER, DCMI_FUNCTION_NOT_FOUND } from './returns.js';

/** DCMI calls in flight at once (the driver serialises most of them anyway). */
const MAX_CONCURRENT = 32;

const sig = (name: string, params: readonly string[]): NativeSignature => ({ names: [name], result: 'int', params });
const I = 'int';
const U = 'uint32_t';
const P = 'void *';

export const DCMI_SIGNATURES = {
  init: sig('dcmi_init', []),
  dcmiVersion: sig('dcmi_get_dcmi_version', [P, U]),
  driverVersion: sig('dcmi_get_driver_version', [P, U]),
  cardList: sig('dcmi_get_card_list', [P, P, I]),
  deviceNumInCard: sig('dcmi_get_device_num_in_card', [I, P]),
  logicId: sig('dcmi_get_device_logic_id', [P, I, I]),
  phyIdFromLogicId: sig('dcmi_get_device_phyid_from_logicid', [U, P]),
  chipInfo: sig('dcmi_get_device_chip_info', [I, I, P]),
  pcieInfo: sig('dcmi_get_device_pcie_info_v2', [I, I, P]),
  die: sig('dcmi_get_device_die_v2', [I, I, I, P]),
  health: sig('dcmi_get_device_health', [I, I, P]),
  errorCodes: sig('dcmi_get_device_errorcode_v2', [I, I, P, P, U]),
  temperature: sig('dcmi_get_device_temperature', [I, I, P]),
  power: sig('dcmi_get_device_power_info', [I, I, P]),
  voltage: sig('dcmi_get_device_voltage', [I, I, P]),
  frequency: sig('dcmi_get_device_frequency', [I, I, I, P]),
  hbm: sig('dcmi_get_device_hbm_info', [I, I, P]),
  utilization: sig('dcmi_get_device_utilization_rate', [I, I, I, P]),
  ecc: sig('dcmi_get_device_ecc_info', [I, I, I, P]),
  networkHealth: sig('dcmi_get_device_network_health', [I, I, P]),
} as const;

export type DcmiApi = keyof typeof DCMI_SIGNATURES;

export class DcmiLibrary {
  /** How long a sampling call may run before its chip is judged unknown (accel.callTimeout). */
  callTimeoutMs = 2000;
  /** Calls running on the thread pool that are not stuck (a sampling call's entry settles by its timeout). */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly stuckCalls = new StuckCalls({ library: 'DCMI', device: 'NPU' });
  private unloaded = false;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  private constructor(readonly native: NativeLibrary<DcmiApi>) {}

  static open(path: string): DcmiLibrary | Error {
    const native = NativeLibrary.open(path, DCMI_SIGNATURES);
    return native instanceof Error ? native : new DcmiLibrary(native);
  }

  get path(): string {
    return this.native.path;
  }

  /** The first symbol name of `api`: what errors and `unsupported` call it. */
  name(api: DcmiApi): string {
    return DCMI_SIGNATURES[api].names[0] ?? api;
  }

  /** Runs `api` on the thread pool; resolves with its return code (FUNCTION_NOT_FOUND when not exported). */
  call(api: DcmiApi, ...args: unknown[]): Promise<number> {
    // A read that spans close(): answer like a library that has gone away instead of calling into unmapped code.
    if (this.unloaded) return Promise.resolve(DCMI_ERR_INNER);
    const resolved = this.native.resolve(api);
    if (resolved === undefined) return Promise.resolve(DCMI_FUNCTION_NOT_FOUND);
    const call = this.slot().then(
      () =>
        new Promise<number>((resolve, reject) => {
          resolved.fn.async(...args, (err: unknown, rc: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(rc)));
        }),
    );
    this.inflight.add(call);
    const done = () => {
      this.inflight.delete(call);
      this.release();
    };
    call.then(done, done);
    return call;
  }

  /**
   * Runs `api(...args)` for the chip with logic id `device` on the thread pool, raced against
   * callTimeoutMs: resolves with its return code, or with why no code came back (the call did not
   * return in time, or was not made because the chip or all of DCMI is blocked by stuck calls).
   * `label` names the call in that answer.
   */
  async sample(api: DcmiApi, device: number, label: string, args: readonly unknown[]): Promise<number | CallBlocked> {
    if (this.unloaded) return DCMI_ERR_INNER;
    const before = this.blocked(device);
    if (before !== undefined) return before;
    const resolved = this.native.resolve(api);
    if (resolved === undefined) return DCMI_FUNCTION_NOT_FOUND;
    await this.slot();
    // A sibling call of the chip may have got stuck, or close() begun, while this one waited its turn.
    const blocked = this.unloaded ? DCMI_ERR_INNER : this.blocked(device);
    if (blocked !== undefined) {
      this.release();
      return blocked;
    }
    let stuck: StuckCall | undefined;
    const done = new Promise<number>((resolve, reject) => {
      const fail = (err: unknown) => reject(err instanceof Error ? err : new Error(String(err)));
      try {
        resolved.fn.async(...args, (err: unknown, rc: number) => {
          // The pool thread is free again only now: a stuck call keeps its slot until here.
          this.release();
          if (stuck !== undefined) this.stuckCalls.returned(stuck);
          if (err) fail(err);
          else resolve(rc);
        });
      } catch (err) {
        this.release();
        fail(err);
      }
    });
    const raced = withTimeout(done, this.callTimeoutMs);
    this.inflight.add(raced);
    try {
      const rc = await raced;
      if (rc !== TIMED_OUT) return rc;
      stuck = this.stuckCalls.note(label, device, args);
      // A late rejection of a stuck call has no one left to hear it.
      done.catch(() => undefined);
      return { api: label, message: `${label} did not return within ${this.callTimeoutMs} ms` };
    } finally {
      this.inflight.delete(raced);
    }
  }

  /** Why calls to the chip with logic id `device` are not made now (one is stuck, or too many are), or undefined. */
  blocked(device: number): CallBlocked | undefined {
    return this.stuckCalls.blocked(device, this.callTimeoutMs);
  }

  /** Sampling calls still running on the thread pool past their timeout: the library must not be unloaded under them. */
  get stuck(): number {
    return this.stuckCalls.size;
  }

  /**
   * koffi throws once 256 async calls are queued process-wide; a node with many chips read in
   * parallel would get there, so calls beyond MAX_CONCURRENT wait their turn here instead.
   */
  private slot(): Promise<void> {
    if (this.running < MAX_CONCURRENT) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.running--;
  }

  /**
   * Waits for calls in flight (unloading under a running call would crash the process), then
   * unloads; false, leaving the library loaded, while a stuck call may still return into it.
   */
  async unload(): Promise<boolean> {
    this.unloaded = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    if (this.stuckCalls.size > 0) return false;
    this.native.unload();
    return true;
  }
}

/** C string in `bytes[start, end)`, cut at the first NUL. */
export function cText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let stop = start;
  while (stop < end && bytes[stop] !== 0) stop++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, stop - start).toString('utf8').trim();
}
