/**
 * The engine model's recent iterations in a ring of typed arrays: enough history to answer the
 * sliding-window metrics (token throughputs, busy ratio) without keeping every step.
 */

/** Throughputs and busy ratio are averaged over this much model time. */
export const METRICS_WINDOW_MS = 10_000;

/** Recent steps (start, end, prefill tokens, generated tokens), enough to cover the metrics window. */
export class StepLog {
  private start = new Float64Array(1024);
  private end = new Float64Array(1024);
  private prefill = new Float64Array(1024);
  private gen = new Float64Array(1024);
  private head = 0;
  private size = 0;

  push(start: number, end: number, prefill: number, gen: number): void {
    while (this.size > 0 && (this.end[this.head] as number) < end - METRICS_WINDOW_MS) {
      this.head = (this.head + 1) & (this.start.length - 1);
      this.size--;
    }
    if (this.size === this.start.length) this.grow();
    const i = (this.head + this.size) & (this.start.length - 1);
    this.start[i] = start;
    this.end[i] = end;
    this.prefill[i] = prefill;
    this.gen[i] = gen;
    this.size++;
  }

  /** Tokens of the steps that ended in (now − window, now] and busy time overlapping the window. */
  window(now: number, inFlightStart: number | undefined): { prefillTokens: number; generatedTokens: number; busyMs: number } {
    const from = now - METRICS_WINDOW_MS;
    const mask = this.start.length - 1;
    let prefillTokens = 0;
    let generatedTokens = 0;
    let busyMs = 0;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & mask;
      const e = this.end[i] as number;
      if (e <= from || e > now) continue;
      prefillTokens += this.prefill[i] as number;
      generatedTokens += this.gen[i] as number;
      busyMs += e - Math.max(from, this.start[i] as number);
    }
    if (inFlightStart !== undefined && inFlightStart < now) busyMs += now - Math.max(from, inFlightStart);
    return { prefillTokens, generatedTokens, busyMs: Math.min(busyMs, METRICS_WINDOW_MS) };
  }

  private grow(): void {
    const n = this.start.length;
    const copy = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n * 2);
      for (let k = 0; k < this.size; k++) b[k] = a[(this.head + k) & (n - 1)] as number;
      return b;
    };
    this.start = copy(this.start);
    this.end = copy(this.end);
    this.prefill = copy(this.prefill);
    this.gen = copy(this.gen);
    this.head = 0;
  }
}
