/**
 * What the NVML read thread is calling right now, in shared memory. The thread stamps the device,
 * the start time and the call's label before each native call and clears the stamp after it, so
 * the main thread sees a call that does not return without one message per call (a message costs
 * tens of microseconds, the call itself a fraction of one). The main thread sets `abandoned` once
 * it has given up on the thread; the thread then makes no further call.
 */

/** Bumped whenever the messages or this layout change: a stale compiled worker refuses to serve. */
export const READ_PROTOCOL = 1;

// Int32 slots: the call's sequence number while in a call (0 between calls), device, label length, abandoned.
const IN_CALL = 0;
const DEVICE = 1;
const LABEL_LENGTH = 2;
const ABANDONED = 3;
// Float64 slot 2 (bytes 16-23): Date.now() at the call's start (both threads share the wall clock).
const STARTED = 2;
const LABEL_OFFSET = 24;
const BYTES = 128;
const LABEL_BYTES = BYTES - LABEL_OFFSET;

export interface CallInProgress {
  /** NVML device index, or -1 for a call of no device (init, shutdown). */
  readonly device: number;
  readonly label: string;
  readonly startedAt: number;
}

// A sample makes about a thousand calls over a few dozen distinct labels: encode each once.
const encoded = new Map<string, Uint8Array>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class CallWatch {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u8: Uint8Array;
  private seq = 0;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.i32 = new Int32Array(buffer, 0, 4);
    this.f64 = new Float64Array(buffer, 0, 3);
    this.u8 = new Uint8Array(buffer);
  }

  /** Stamps a call about to be made; false when the thread has been abandoned (make no call). */
  begin(device: number, label: string): boolean {
    if (Atomics.load(this.i32, ABANDONED) !== 0) return false;
    let bytes = encoded.get(label);
    if (bytes === undefined) encoded.set(label, (bytes = encoder.encode(label).subarray(0, LABEL_BYTES)));
    this.u8.set(bytes, LABEL_OFFSET);
    this.i32[LABEL_LENGTH] = bytes.length;
    this.i32[DEVICE] = device;
    this.f64[STARTED] = Date.now();
    // Published last (a sequentially consistent store): a reader that sees this sequence sees the fields above.
    this.seq = (this.seq % 0x7fff_ffff) + 1;
    Atomics.store(this.i32, IN_CALL, this.seq);
    return true;
  }

  /** Clears the stamp; true when the thread was abandoned while the call ran. */
  end(): boolean {
    Atomics.store(this.i32, IN_CALL, 0);
    return Atomics.load(this.i32, ABANDONED) !== 0;
  }

  /** The call in progress, or undefined between calls. */
  current(): CallInProgress | undefined {
    const seq = Atomics.load(this.i32, IN_CALL);
    if (seq === 0) return undefined;
    const device = this.i32[DEVICE] ?? -1;
    const startedAt = this.f64[STARTED] ?? 0;
    const length = Math.min(this.i32[LABEL_LENGTH] ?? 0, LABEL_BYTES);
    // SharedArrayBuffer views cannot be decoded in place: copy the few label bytes out.
    const label = decoder.decode(this.u8.slice(LABEL_OFFSET, LABEL_OFFSET + length));
    // The thread moved on while this was read: that call returned, so there is nothing to report.
    return Atomics.load(this.i32, IN_CALL) === seq ? { device, label, startedAt } : undefined;
  }

  abandon(): void {
    Atomics.store(this.i32, ABANDONED, 1);
  }
}

/** Thrown by a watched call on an abandoned thread: unwinds the read without making the call. */
export class CallAbandoned extends Error {
  constructor() {
    super('the NVML read thread was abandoned');
  }
}
