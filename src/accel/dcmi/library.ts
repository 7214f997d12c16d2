/**
 * libdcmi.so through koffi. DCMI calls take 1–4 ms on real hardware, so every call goes through
 * koffi's async path (libuv thread pool) and gets its own out-parameter memory: calls of several
 * devices may be in flight at once.
 */
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
  /** Calls running on the thread pool: the library must outlive them. */
  private readonly inflight = new Set<Promise<number>>();
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

  /** Waits for calls in flight (unloading under a running call would crash the process), then unloads. */
  async unload(): Promise<void> {
    this.unloaded = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    this.native.unload();
  }
}

/** C string in `bytes[start, end)`, cut at the first NUL. */
export function cText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let stop = start;
  while (stop < end && bytes[stop] !== 0) stop++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, stop - start).toString('utf8').trim();
}
