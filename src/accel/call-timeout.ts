/**
 * Per-call timeouts for vendor library calls on koffi's async path (NVML's fallback, every DCMI
 * sampling call). A call that does not return within the timeout cannot be cancelled: it keeps a
 * libuv pool thread (4 by default, shared with fs, dns and crypto) until the driver answers. So the
 * call is recorded as stuck, its device makes no further call until it returns, and past
 * MAX_STUCK_CALLS no call of that library is made at all; the process leaves through _exit while
 * one is stuck (noteStuckCall).
 */
import { noteStuckCall } from './native-library.js';

/** Stuck calls tolerated before no call of the library is made: at most two pool threads are lost to a hung driver. */
export const MAX_STUCK_CALLS = 2;

export interface StuckCall {
  readonly api: string;
  /** Device index, or -1 for a call of no device. */
  readonly device: number;
  /** The call's arguments, kept reachable: the driver may still write into them when it returns. */
  readonly args: readonly unknown[];
}

/** Why a call is not made now; `message` is what the device's health shows as the reason it is unknown. */
export interface CallBlocked {
  readonly api: string;
  readonly message: string;
}

export class StuckCalls {
  private readonly calls = new Set<StuckCall>();

  /** `library` names it in the suspended message ("NVML"), `device` its devices ("GPU"). */
  constructor(private readonly names: { readonly library: string; readonly device: string }) {}

  /** Records a call that did not return in time; pass what this answers to `returned` when it does. */
  note(api: string, device: number, args: readonly unknown[] = []): StuckCall {
    const stuck = { api, device, args };
    this.calls.add(stuck);
    noteStuckCall(1);
    return stuck;
  }

  returned(stuck: StuckCall): void {
    if (this.calls.delete(stuck)) noteStuckCall(-1);
  }

  /** Why calls to `device` are not made now (one of its calls is stuck, or too many are), or undefined. */
  blocked(device: number, timeoutMs: number): CallBlocked | undefined {
    for (const s of this.calls) if (s.device === device) return { api: s.api, message: `${s.api} did not return within ${timeoutMs} ms` };
    if (this.calls.size < MAX_STUCK_CALLS) return undefined;
    const apis = [...this.calls].map((s) => (s.device < 0 ? s.api : `${s.api} on ${this.names.device} ${s.device}`));
    return { api: this.names.library.toLowerCase(), message: `${this.names.library} calls suspended: ${apis.join(', ')} did not return` };
  }

  get size(): number {
    return this.calls.size;
  }
}

/** What `withTimeout` answers when the call did not settle in time. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** `call`'s value, or TIMED_OUT after `ms` (the timer never keeps the process up and is cleared when the call wins). */
export async function withTimeout<T>(call: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}
