/**
 * The in-process fault decorator: wraps whichever backend is live (nvml, dcmi, sim) and applies
 * the engine's rules to what it reads — a failed call becomes the vendor's ApiError with that
 * call's fields gone (NOT_SUPPORTED lands in `unsupported`), value overrides merge into the values,
 * an XID is delivered once per device through onEvent, and an init rule makes the backend report
 * `failed` as a failed nvmlInit / dcmi_init would. A read no rule touches costs a Map lookup.
 */
import { apiError, formatApiError, notSupportedCode } from '../return-codes.js';
import type { AccelEvent, AcceleratorBackend, ApiError, BackendStatus, DeviceIdentity, DeviceSample, GroupRead, ProbeGroup } from '../types.js';
import { INIT_LABEL } from './call-table.js';
import type { FaultEngine } from './engine.js';
import { buildDevicePlans, type DevicePlan, type PlanEntry, setField } from './fault-plan.js';

const NO_DEVICES: readonly DeviceIdentity[] = Object.freeze([]);

class FaultDecorator implements AcceleratorBackend {
  readonly kind: AcceleratorBackend['kind'];
  readonly vendor: AcceleratorBackend['vendor'];
  private readonly listeners = new Set<(event: AccelEvent) => void>();
  private plans = new Map<number, DevicePlan>();
  private seenGeneration = -1;
  private seenDevices: readonly DeviceIdentity[] | undefined;
  private seenState: BackendStatus['state'] | undefined;
  /** Ids of the init rules last evaluated (a new set means a new "init call"). */
  private initKey: string | undefined;
  private initFailure: BackendStatus | undefined;

  constructor(
    private readonly inner: AcceleratorBackend,
    private readonly engine: FaultEngine,
  ) {
    this.kind = inner.kind;
    this.vendor = inner.vendor;
  }

  async open(): Promise<BackendStatus> {
    await this.inner.open();
    return this.status();
  }

  status(): BackendStatus {
    this.refresh();
    return this.initFailure ?? this.inner.status();
  }

  devices(): readonly DeviceIdentity[] {
    this.refresh();
    return this.initFailure !== undefined ? NO_DEVICES : this.inner.devices();
  }

  read(index: number, group: ProbeGroup): Promise<GroupRead> {
    this.refresh();
    if (this.initFailure !== undefined) return Promise.resolve({ values: {}, errors: [], unsupported: [] });
    const entries = this.plans.get(index)?.[group];
    if (entries === undefined) return this.inner.read(index, group);
    return this.inner.read(index, group).then((r) => this.apply(r, entries, index));
  }

  onEvent(listener: (event: AccelEvent) => void): () => void {
    this.listeners.add(listener);
    const off = this.inner.onEvent(listener);
    return () => {
      off();
      this.listeners.delete(listener);
    };
  }

  close(): Promise<void> {
    this.listeners.clear();
    return this.inner.close();
  }

  /** Rebuilds the plans when the rules, the device list or the backend state changed. */
  private refresh(): void {
    this.engine.tick();
    const devices = this.inner.devices();
    const state = this.inner.status().state;
    if (this.seenGeneration === this.engine.generation && this.seenDevices === devices && this.seenState === state) return;
    this.seenGeneration = this.engine.generation;
    this.seenDevices = devices;
    this.seenState = state;
    const faults = this.engine.faultsFor(this.vendor);
    this.evaluateInit(faults.filter((f) => f.rule.init));
    this.plans = buildDevicePlans(this.vendor, devices, faults);
  }

  /**
   * An init rule counts as one init call when the backend comes up and whenever the set of init
   * rules changes (as if the agent re-initialised the library then); a library that is absent or
   * failed for real keeps its own status.
   */
  private evaluateInit(faults: ReturnType<FaultEngine['faultsFor']>): void {
    if (this.seenState !== 'up') {
      this.initKey = undefined;
      this.initFailure = undefined;
      return;
    }
    const key = faults.map((f) => f.rule.id).join('\u0000');
    if (key === this.initKey) return;
    this.initKey = key;
    this.initFailure = undefined;
    const api = INIT_LABEL[this.vendor];
    for (const f of faults) {
      const code = f.rule.codes[this.vendor];
      if (code === undefined || !this.engine.evaluate(f, api, this.vendor, null)) continue;
      const error = apiError(this.vendor, api, code);
      const { libraryPath } = this.inner.status();
      this.initFailure = { kind: this.kind, vendor: this.vendor, state: 'failed', message: formatApiError(error), error, ...(libraryPath !== undefined && { libraryPath }) };
      return;
    }
  }

  private apply(read: GroupRead, entries: readonly PlanEntry[], index: number): GroupRead {
    const values: DeviceSample = { ...read.values };
    let errors: ApiError[] = [...read.errors];
    const unsupported = new Set(read.unsupported);
    const owner = new Map<string, 'return' | 'value'>();
    const setFields = new Set<string>();
    const notSupported = notSupportedCode(this.vendor);
    const xidKey = `${this.vendor}:${index}`;
    for (const { fault, calls } of entries) {
      let applied = false;
      for (const c of calls) {
        if (c.xidOnly === true && fault.xidDelivered.has(xidKey)) continue;
        if (!this.engine.evaluate(fault, c.label, this.vendor, index)) continue;
        applied = true;
        if (c.code !== undefined && !owner.has(c.label)) {
          // First rule wins a call; a failed call reads nothing.
          owner.set(c.label, 'return');
          for (const f of c.fields) delete values[f];
          errors = errors.filter((e) => e.api !== c.label);
          unsupported.delete(c.label);
          if (c.code === notSupported) unsupported.add(c.label);
          else errors.push(apiError(this.vendor, c.label, c.code));
        }
        if ((c.values !== undefined || c.addCodes !== undefined) && owner.get(c.label) !== 'return') {
          owner.set(c.label, 'value');
          // An overridden call answered: whatever the real one said (error, NOT_SUPPORTED) is replaced.
          errors = errors.filter((e) => e.api !== c.label);
          unsupported.delete(c.label);
          for (const [field, value] of c.values ?? []) {
            if (setFields.has(field)) continue;
            setFields.add(field);
            setField(values, field, value);
          }
          if (c.addCodes !== undefined) values.npuFaultCodes = [...new Set([...(values.npuFaultCodes ?? []), ...c.addCodes])];
        }
      }
      const xid = fault.rule.effect.xid;
      if (applied && xid !== undefined && !fault.xidDelivered.has(xidKey)) {
        fault.xidDelivered.add(xidKey);
        this.emit({ kind: 'xid', index, xid, at: this.engine.time() });
      }
    }
    return { values, errors, unsupported: [...unsupported] };
  }

  /** Synchronous, so an XID injected during a sample is in that sample's health. */
  private emit(event: AccelEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own (the sampler logs its own); the other listeners still hear it.
      }
    }
  }
}

/** Wraps `backend` so the engine's rules apply to it; the engine is shared by every wrapped backend. */
export function createFaultDecorator(backend: AcceleratorBackend, engine: FaultEngine): AcceleratorBackend {
  return new FaultDecorator(backend, engine);
}
