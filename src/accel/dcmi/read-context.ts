/**
 * One group read of one NPU: async DCMI calls, NOT_SUPPORT remembered per (chip, api) so an
 * unsupported call is made once per agent lifetime, failures collected. A call that does not return
 * in time (DcmiLibrary.sample) ends the read with one CALL_TIMEOUT error: the chip's later calls
 * are not made until it has returned.
 */
import { type ApiError, CALL_TIMEOUT, type DeviceSample } from '../types.js';
import type { DcmiApi, DcmiLibrary } from './library.js';
import { DCMI_OK, dcmiError, isDcmiUnsupported } from './returns.js';

export interface DcmiChip {
  readonly logicId: number;
  readonly cardId: number;
  readonly deviceId: number;
  /** API labels found NOT_SUPPORT (or not exported) on this chip: never called again. */
  readonly unsupported: Set<string>;
}

export class DcmiReadContext {
  readonly values: DeviceSample = {};
  /** Calls run concurrently; errors and skips are kept by call start so a read lists them in a fixed order. */
  private started = 0;
  private readonly failed: { readonly order: number; readonly error: ApiError }[] = [];
  private readonly skipped = new Map<string, number>();
  /** A call of this read did not return (or was refused for a stuck one): make no further call. */
  private stuck = false;

  constructor(
    private readonly lib: DcmiLibrary,
    readonly chip: DcmiChip,
  ) {}

  get unsupported(): string[] {
    return [...this.skipped].sort((a, b) => a[1] - b[1]).map(([label]) => label);
  }

  get errors(): ApiError[] {
    return [...this.failed].sort((a, b) => a.order - b.order).map((f) => f.error);
  }

  private skip(label: string, order: number): void {
    if (!this.skipped.has(label)) this.skipped.set(label, order);
  }

  /** Calls `api(card, device, ...args)`; true on DCMI_OK. */
  async call(api: DcmiApi, qualifier: string | undefined, ...args: unknown[]): Promise<boolean> {
    const base = this.lib.name(api);
    const label = qualifier === undefined ? base : `${base}(${qualifier})`;
    const order = this.started++;
    if (this.chip.unsupported.has(label)) {
      this.skip(label, order);
      return false;
    }
    if (this.stuck) return false;
    const rc = await this.lib.sample(api, this.chip.logicId, label, [this.chip.cardId, this.chip.deviceId, ...args]);
    if (typeof rc !== 'number') {
      // Calls of a read run concurrently: report the stuck call once.
      if (!this.stuck) this.failed.push({ order, error: { api: rc.api, code: CALL_TIMEOUT, value: -1, message: rc.message } });
      this.stuck = true;
      return false;
    }
    if (rc === DCMI_OK) return true;
    if (isDcmiUnsupported(rc)) {
      this.chip.unsupported.add(label);
      this.skip(label, order);
    } else {
      this.failed.push({ order, error: dcmiError(label, rc) });
    }
    return false;
  }

  /** A call whose last out-parameter is one 32-bit value; `signed` for `int *` outs. */
  async scalar(api: DcmiApi, qualifier: string | undefined, args: readonly unknown[], signed = false): Promise<number | undefined> {
    const out = signed ? new Int32Array(1) : new Uint32Array(1);
    return (await this.call(api, qualifier, ...args, out)) ? out[0] : undefined;
  }
}

/** Little-endian u64 as a number (exact below 2^53). */
export function u64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * 0x1_0000_0000 + view.getUint32(offset, true);
}
