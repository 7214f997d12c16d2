import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Probe } from '../../src/accel/probes/probe.js';
import { RECENT_XIDS, Sampler } from '../../src/accel/sampler.js';
import { loadScenarioFile, resolveScenario } from '../../src/accel/scenario.js';
import { createSimBackends, type SimBackend } from '../../src/accel/sim/index.js';
import type { AccelEvent, AcceleratorBackend, BackendStatus, DeviceIdentity, GroupRead, ProbeGroup, Vendor } from '../../src/accel/types.js';
import { PROBE_GROUPS } from '../../src/accel/types.js';
import { silentLog } from '../helpers/apps.js';

// Our own probe list: the sampler only needs names and vendors (metrics belong to the renderer).
const NPU_ONLY: readonly ProbeGroup[] = ['npu-health'];
const NVIDIA_ONLY: readonly ProbeGroup[] = ['pcie', 'retirement', 'nvlink', 'recovery', 'processes'];
const probes: Probe[] = PROBE_GROUPS.map((name) => ({
  name,
  description: name,
  defaultEnabled: true,
  vendors: NPU_ONLY.includes(name) ? ['ascend'] : NVIDIA_ONLY.includes(name) ? ['nvidia'] : ['nvidia', 'ascend'],
  metrics: [],
}));

async function sim(name: string): Promise<SimBackend[]> {
  const backends = createSimBackends(loadScenarioFile(resolveScenario(name)), { log: silentLog }) as SimBackend[];
  for (const b of backends) await b.open();
  return backends;
}

function sampler(backends: readonly AcceleratorBackend[], extra: Partial<ConstructorParameters<typeof Sampler>[0]> = {}): Sampler {
  return new Sampler({ backends, probes, intervalMs: 1000, node: 'n1', log: silentLog, xidIgnore: [13, 31, 43, 45, 68, 109], ...extra });
}

/** A backend whose reads wait until released, and which records what it was asked. */
class FakeBackend implements AcceleratorBackend {
  readonly kind = 'nvml' as const;
  readonly calls: string[] = [];
  closed = false;
  gate: Promise<void> = Promise.resolve();
  /** Reads of one group in progress at once, at most, per group. */
  readonly maxConcurrent = new Map<ProbeGroup, number>();
  private readonly inFlight = new Map<ProbeGroup, number>();
  private listeners = new Set<(e: AccelEvent) => void>();
  constructor(
    readonly vendor: Vendor,
    private readonly count: number,
    private state: BackendStatus['state'] = 'up',
    private readonly delayMs = 0,
  ) {}
  async open(): Promise<BackendStatus> {
    return this.status();
  }
  status(): BackendStatus {
    return { kind: 'nvml', vendor: this.vendor, state: this.state, ...(this.state !== 'up' ? { message: 'init failed' } : {}) };
  }
  devices(): readonly DeviceIdentity[] {
    return Array.from({ length: this.count }, (_, index) => ({ vendor: this.vendor, index, uuid: `U${index}`, name: 'X', pciBusId: '' }));
  }
  async read(index: number, group: ProbeGroup): Promise<GroupRead> {
    this.calls.push(`${index}:${group}`);
    const now = (this.inFlight.get(group) ?? 0) + 1;
    this.inFlight.set(group, now);
    this.maxConcurrent.set(group, Math.max(now, this.maxConcurrent.get(group) ?? 0));
    await this.gate;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.inFlight.set(group, (this.inFlight.get(group) ?? 1) - 1);
    if (group === 'power') return { values: {}, errors: [{ api: 'nvmlDeviceGetPowerUsage', code: 'UNKNOWN', value: 999 }], unsupported: [] };
    if (group === 'thermal') return { values: { gpuTempC: 40 + index, nvlinks: [{ link: 0, active: true }] }, errors: [], unsupported: ['nvmlDeviceGetTemperatureThreshold(SLOWDOWN)'] };
    return { values: {}, errors: [], unsupported: [] };
  }
  onEvent(l: (e: AccelEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: AccelEvent): void {
    for (const l of this.listeners) l(e);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  setState(s: BackendStatus['state']): void {
    this.state = s;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Sampler', () => {
  it('orders devices NVIDIA then Ascend, by index, whatever the backend order', async () => {
    const [npu] = await sim('healthy-8x-ascend910b');
    const [gpu] = await sim('healthy-8x-h100');
    const s = sampler([npu as SimBackend, gpu as SimBackend]);
    const snap = await s.sampleNow();
    expect(snap.devices.map((d) => `${d.identity.vendor}${d.identity.index}`)).toEqual([
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `nvidia${i}`),
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `ascend${i}`),
    ]);
    expect(snap).toMatchObject({ seq: 1, node: 'n1', backends: [{ vendor: 'ascend', state: 'up' }, { vendor: 'nvidia', state: 'up' }] });
    expect(snap.devices[0]?.sample.powerW).toBe(312.45);
    expect(snap.devices[8]?.sample.powerW).toBe(110.5);
    expect(snap.devices.every((d) => d.health.state === 'healthy')).toBe(true);
    await s.dispose();
  });

  it('reads only the probes whose vendors include the device vendor, and merges them per device', async () => {
    const b = new FakeBackend('ascend', 1);
    const snap = await sampler([b]).sampleNow();
    expect(b.calls).toEqual(['0:memory', '0:utilization', '0:thermal', '0:power', '0:clocks', '0:ecc', '0:npu-health']);
    expect(snap.devices[0]).toMatchObject({
      backend: 'nvml',
      sample: { gpuTempC: 40 },
      errors: [{ api: 'nvmlDeviceGetPowerUsage', code: 'UNKNOWN', value: 999 }],
      unsupported: ['nvmlDeviceGetTemperatureThreshold(SLOWDOWN)'],
    });
  });

  it('publishes a deeply frozen snapshot and notifies listeners until they unsubscribe', async () => {
    const s = sampler([new FakeBackend('nvidia', 2)]);
    const seen: number[] = [];
    const off = s.onSnapshot((snap) => seen.push(snap.seq));
    const snap = await s.sampleNow();
    expect(s.snapshot).toBe(snap);
    expect(Object.isFrozen(snap)).toBe(true);
    expect(Object.isFrozen(snap.devices)).toBe(true);
    expect(Object.isFrozen(snap.devices[0]?.sample)).toBe(true);
    expect(Object.isFrozen(snap.devices[0]?.sample.nvlinks?.[0])).toBe(true);
    expect(Object.isFrozen(snap.backends[0])).toBe(true);
    expect(() => {
      (snap.devices[0]?.sample as { gpuTempC?: number }).gpuTempC = 1;
    }).toThrow(TypeError);
    off();
    await s.sampleNow();
    expect(seen).toEqual([1]);
  });

  it('measures each probe once per sample: duration across devices, success false on any error', async () => {
    const backend = new FakeBackend('nvidia', 2, 'up', 15);
    const snap = await sampler([backend]).sampleNow();
    expect(snap.probes.map((p) => p.probe)).toEqual(PROBE_GROUPS.filter((g) => g !== 'npu-health'));
    const power = snap.probes.find((p) => p.probe === 'power');
    const thermal = snap.probes.find((p) => p.probe === 'thermal');
    expect(power?.success).toBe(false);
    expect(thermal?.success).toBe(true);
    // The duration covers the reads (a lower bound: a loaded machine only makes it longer)...
    expect(thermal?.durationSeconds).toBeGreaterThanOrEqual(0.012);
    // ...and both devices were read at once: one delay per probe, not two.
    expect(backend.maxConcurrent.get('thermal')).toBe(2);
  });

  it('skips a tick while the previous sample is still running, rather than queueing it', async () => {
    vi.useFakeTimers();
    const b = new FakeBackend('nvidia', 1);
    let release!: () => void;
    b.gate = new Promise<void>((r) => (release = r));
    const s = sampler([b]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(b.calls).toEqual(['0:memory']);
    await vi.advanceTimersByTimeAsync(3500);
    expect(b.calls).toEqual(['0:memory']);
    expect(s.snapshot).toBeUndefined();
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.snapshot?.seq).toBe(1);
    const readsPerSample = b.calls.length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.snapshot?.seq).toBe(2);
    expect(b.calls.length).toBe(2 * readsPerSample);
    await s.dispose();
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.snapshot?.seq).toBe(2);
    expect(b.closed).toBe(true);
  });

  it('sampleNow during a sample waits for it, then takes a fresh one', async () => {
    const b = new FakeBackend('nvidia', 1);
    let release!: () => void;
    b.gate = new Promise<void>((r) => (release = r));
    const s = sampler([b]);
    s.start();
    const forced = s.sampleNow();
    release();
    expect((await forced).seq).toBe(2);
    await s.dispose();
  });

  it('turns XIDs into per-device counts, recent XIDs and health, once', async () => {
    const [gpu] = (await sim('healthy-8x-h100')) as [SimBackend];
    const s = sampler([gpu]);
    gpu.pushXid(3, 79);
    gpu.pushXid(3, 13);
    await new Promise((r) => setImmediate(r));
    const first = await s.sampleNow();
    const d3 = first.devices[3];
    expect(d3?.health).toMatchObject({ state: 'unhealthy', reasons: ['XID 79 (GPU has fallen off the bus)'] });
    expect(d3?.recentXids.map((x) => x.xid)).toEqual([79, 13]);
    expect(d3?.xidCounts).toEqual({ 13: 1, 79: 1 });
    expect(first.devices[2]?.health.state).toBe('healthy');
    const second = await s.sampleNow();
    expect(second.devices[3]?.health.state).toBe('healthy');
    expect(second.devices[3]?.xidCounts).toEqual({ 13: 1, 79: 1 });
    await s.dispose();
  });

  it('recovery-reboot: unhealthy until the recovery action returns to NONE, then healthy (never "until restart")', async () => {
    const [gpu] = (await sim('recovery-reboot')) as [SimBackend];
    const s = sampler([gpu]);
    await new Promise((r) => setImmediate(r));
    const first = await s.sampleNow();
    expect(first.devices[0]?.health).toMatchObject({ state: 'unhealthy', reasons: ['XID 154 (GPU recovery action changed)', 'recovery action NODE_REBOOT (2)'] });
    expect((await s.sampleNow()).devices[0]?.health).toMatchObject({ state: 'unhealthy', reasons: ['XID 154 (GPU recovery action changed)', 'recovery action NODE_REBOOT (2)'], since: first.at });
    gpu.setValue(0, 'recoveryAction', 0);
    expect((await s.sampleNow()).devices[0]?.health).toEqual({ state: 'healthy', reasons: [] });
    await s.dispose();
  });

  it('gpu-lost-xid79: the lost GPU is unhealthy with its readings absent, the others healthy', async () => {
    const [gpu] = (await sim('gpu-lost-xid79')) as [SimBackend];
    const s = sampler([gpu]);
    await new Promise((r) => setImmediate(r));
    const snap = await s.sampleNow();
    const lost = snap.devices[3];
    expect(lost?.health.state).toBe('unhealthy');
    expect(lost?.health.reasons.slice(0, 2)).toEqual(['XID 79 (GPU has fallen off the bus)', 'GPU is lost (nvmlDeviceGetMemoryInfo_v2: GPU_IS_LOST)']);
    expect(lost?.sample.gpuTempC).toBeUndefined();
    expect(lost?.sample.powerW).toBeUndefined();
    expect(snap.devices.filter((d) => d.health.state === 'healthy')).toHaveLength(7);
    // Still lost on the next sample, without a new XID.
    expect((await s.sampleNow()).devices[3]?.health.state).toBe('unhealthy');
    await s.dispose();
  });

  it('bounds recent XIDs per device', async () => {
    const b = new FakeBackend('nvidia', 1);
    const s = sampler([b]);
    for (let i = 0; i < RECENT_XIDS + 10; i++) b.emit({ kind: 'xid', index: 0, xid: 1000 + i, at: i });
    const snap = await s.sampleNow();
    expect(snap.devices[0]?.recentXids).toHaveLength(RECENT_XIDS);
    expect(snap.devices[0]?.recentXids.at(-1)?.xid).toBe(1000 + RECENT_XIDS + 9);
  });

  it('an event-error makes every device of that backend unknown, until the backend delivers again', async () => {
    const gpu = new FakeBackend('nvidia', 2);
    const npu = new FakeBackend('ascend', 1);
    const s = sampler([gpu, npu]);
    gpu.emit({ kind: 'event-error', error: { api: 'nvmlEventSetWait_v2', code: 'UNKNOWN', value: 999 }, at: 1 });
    const snap = await s.sampleNow();
    expect(snap.devices.map((d) => d.health.state)).toEqual(['unknown', 'unknown', 'healthy']);
    expect(snap.devices[0]?.health.reasons[0]).toBe('event source failed: nvmlEventSetWait_v2: UNKNOWN (999)');
    gpu.emit({ kind: 'xid', index: 0, xid: 13, at: 2 });
    expect((await s.sampleNow()).devices.map((d) => d.health.state)).toEqual(['healthy', 'healthy', 'healthy']);
  });

  it('keeps publishing with no backend up: statuses, no devices; devices of a failed backend are unknown', async () => {
    const failed = new FakeBackend('nvidia', 0, 'failed');
    const snap = await sampler([failed]).sampleNow();
    expect(snap.devices).toEqual([]);
    expect(snap.probes).toEqual([]);
    expect(snap.backends).toEqual([{ kind: 'nvml', vendor: 'nvidia', state: 'failed', message: 'init failed' }]);
    expect((await sampler([]).sampleNow()).devices).toEqual([]);

    const gone = new FakeBackend('nvidia', 1);
    const s = sampler([gone]);
    await s.sampleNow();
    gone.setState('failed');
    const later = await s.sampleNow();
    expect(later.devices[0]?.health).toEqual({ state: 'unknown', reasons: ['backend nvml failed: init failed'] });
    expect(later.devices[0]?.sample).toEqual({});
  });
});
