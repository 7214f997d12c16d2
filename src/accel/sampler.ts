/**
 * The sampler: every interval, every probe of every device of every live backend, merged into one
 * immutable AccelSnapshot that /metrics, /v1/accelerators and diagnose read. Nothing reads hardware
 * on a request or a scrape. A tick that finds the previous one still running is skipped, not queued,
 * so a slow driver never piles up calls.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/logger.js';
import { HealthTracker } from './health.js';
import type { Probe } from './probes/probe.js';
import {
  CALL_TIMEOUT,
  type AccelEvent,
  type AcceleratorBackend,
  type AccelSnapshot,
  type ApiError,
  type DeviceIdentity,
  type DeviceSample,
  type DeviceSnapshot,
  type ProbeRun,
  type Vendor,
  type XidRecord,
} from './types.js';

export interface SamplerOptions {
  readonly backends: readonly AcceleratorBackend[];
  readonly probes: readonly Probe[];
  readonly intervalMs: number;
  readonly node: string;
  readonly log: Logger;
  readonly xidIgnore: readonly number[];
  readonly now?: () => number;
}

/** How long dispose waits for a sample in progress before closing the backends anyway. */
export const DISPOSE_WAIT_MS = 2000;

/** XIDs kept per device for /v1/accelerators and diagnose. */
export const RECENT_XIDS = 64;

const VENDOR_ORDER: Readonly<Record<Vendor, number>> = { nvidia: 0, ascend: 1 };

interface DeviceState {
  recentXids: XidRecord[];
  xidCounts: Record<number, number>;
  /** XIDs that arrived since the last health update. */
  pending: XidRecord[];
}

interface Accum {
  values: DeviceSample;
  errors: ApiError[];
  unsupported: Set<string>;
}

export class Sampler {
  private readonly opts: SamplerOptions;
  private readonly now: () => number;
  private readonly health: HealthTracker;
  private readonly devices = new Map<string, DeviceState>();
  /** Backends whose event source failed, with why; cleared by the next event it delivers. */
  private readonly eventErrors = new Map<AcceleratorBackend, string>();
  private readonly listeners = new Set<(s: AccelSnapshot) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<AccelSnapshot> | undefined;
  private latest: AccelSnapshot | undefined;
  private seq = 0;
  private disposed = false;

  constructor(opts: SamplerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.health = new HealthTracker({ xidIgnore: opts.xidIgnore });
    for (const b of opts.backends) this.unsubscribe.push(b.onEvent((e) => this.onEvent(b, e)));
  }

  /** Samples now and then every interval. */
  start(): void {
    if (this.timer !== undefined || this.disposed) return;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** A fresh snapshot: waits for a sample in progress, then takes a new one. */
  async sampleNow(): Promise<AccelSnapshot> {
    while (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
    return this.run();
  }

  get snapshot(): AccelSnapshot | undefined {
    return this.latest;
  }

  onSnapshot(fn: (s: AccelSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    this.listeners.clear();
    // Let a sample in progress finish before the libraries shut down, but not forever: a hung
    // driver call must not hold the agent's shutdown past its drain timeout.
    if (this.inFlight !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, DISPOSE_WAIT_MS)));
      await Promise.race([this.inFlight.catch(() => undefined), bound]);
      clearTimeout(timer);
    }
    const results = await Promise.allSettled(this.opts.backends.map((b) => b.close()));
    for (const r of results) if (r.status === 'rejected') this.opts.log.warn({ err: r.reason }, 'closing an accelerator backend failed');
  }

  private tick(): void {
    if (this.inFlight !== undefined || this.disposed) {
      this.opts.log.debug('previous accelerator sample still running, tick skipped');
      return;
    }
    this.run().catch((err: unknown) => this.opts.log.warn({ err }, 'accelerator sample failed'));
  }

  private run(): Promise<AccelSnapshot> {
    const p = this.sample().finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async sample(): Promise<AccelSnapshot> {
    const targets: { backend: AcceleratorBackend; identity: DeviceIdentity; acc: Accum }[] = [];
    for (const backend of this.opts.backends) {
      for (const identity of backend.devices()) targets.push({ backend, identity, acc: { values: {}, errors: [], unsupported: new Set() } });
    }
    const live = targets.filter((t) => t.backend.status().state === 'up');

    const probes: ProbeRun[] = [];
    for (const probe of this.opts.probes) {
      const mine = live.filter((t) => probe.vendors.includes(t.identity.vendor));
      if (mine.length === 0) continue;
      const started = performance.now();
      const ok = await Promise.all(mine.map((t) => this.read(t.backend, t.identity, probe, t.acc)));
      probes.push({ probe: probe.name, durationSeconds: (performance.now() - started) / 1000, success: ok.every(Boolean) });
    }

    const now = this.now();
    const devices = targets.map((t) => this.deviceSnapshot(t.backend, t.identity, t.acc, now)).sort(byVendorThenIndex);
    const snapshot = deepFreeze<AccelSnapshot>({
      seq: ++this.seq,
      at: now,
      node: this.opts.node,
      backends: this.opts.backends.map((b) => ({ ...b.status() })),
      devices,
      probes,
    });
    if (!this.disposed) {
      this.latest = snapshot;
      for (const fn of [...this.listeners]) {
        try {
          fn(snapshot);
        } catch (err) {
          this.opts.log.warn({ err }, 'accelerator snapshot listener failed');
        }
      }
    }
    return snapshot;
  }

  /** One probe of one device into the device's accumulator; false when anything failed. */
  private async read(backend: AcceleratorBackend, identity: DeviceIdentity, probe: Probe, acc: Accum): Promise<boolean> {
    try {
      const r = await backend.read(identity.index, probe.name);
      Object.assign(acc.values, r.values);
      // A stuck call is reported by every group read of the device: keep it once.
      for (const e of r.errors) if (e.code !== CALL_TIMEOUT || !acc.errors.some((x) => x.code === CALL_TIMEOUT && x.api === e.api)) acc.errors.push(e);
      for (const u of r.unsupported) acc.unsupported.add(u);
      return r.errors.length === 0;
    } catch (err) {
      // A backend should report failures as ApiErrors; a throw is a bug there, kept visible here.
      acc.errors.push({ api: probe.name, code: 'EXCEPTION', value: -1 });
      this.opts.log.debug({ err, probe: probe.name, index: identity.index }, 'probe threw');
      return false;
    }
  }

  private deviceSnapshot(backend: AcceleratorBackend, identity: DeviceIdentity, acc: Accum, now: number): DeviceSnapshot {
    const state = this.state(identity.vendor, identity.index);
    const newXids = state.pending;
    state.pending = [];
    const status = backend.status();
    // A call that did not return: nothing of this device can be judged until it does.
    const hung = acc.errors.find((e) => e.code === CALL_TIMEOUT);
    const unknown =
      status.state !== 'up'
        ? `backend ${status.kind} ${status.state}${status.message !== undefined ? `: ${status.message}` : ''}`
        : (this.eventErrors.get(backend) ?? (hung === undefined ? undefined : (hung.message ?? `${hung.api}: ${hung.code}`)));
    return {
      identity: { ...identity },
      backend: backend.kind,
      sample: acc.values,
      errors: acc.errors,
      unsupported: [...acc.unsupported],
      health: this.health.update(identity, acc.values, acc.errors, newXids, now, unknown),
      recentXids: [...state.recentXids],
      xidCounts: { ...state.xidCounts },
    };
  }

  private onEvent(backend: AcceleratorBackend, event: AccelEvent): void {
    if (event.kind === 'event-error') {
      this.eventErrors.set(backend, `event source failed: ${event.error.api}: ${event.error.code} (${event.error.value})`);
      return;
    }
    this.eventErrors.delete(backend);
    if (event.kind !== 'xid') return;
    const state = this.state(backend.vendor, event.index);
    const record = { xid: event.xid, at: event.at };
    state.recentXids.push(record);
    if (state.recentXids.length > RECENT_XIDS) state.recentXids.shift();
    state.xidCounts[event.xid] = (state.xidCounts[event.xid] ?? 0) + 1;
    state.pending.push(record);
  }

  private state(vendor: Vendor, index: number): DeviceState {
    const key = `${vendor}:${index}`;
    let s = this.devices.get(key);
    if (s === undefined) {
      s = { recentXids: [], xidCounts: {}, pending: [] };
      this.devices.set(key, s);
    }
    return s;
  }
}

function byVendorThenIndex(a: DeviceSnapshot, b: DeviceSnapshot): number {
  return VENDOR_ORDER[a.identity.vendor] - VENDOR_ORDER[b.identity.vendor] || a.identity.index - b.identity.index;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
