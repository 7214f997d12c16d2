/**
 * The sim backend: an AcceleratorBackend over one scenario section, in pure TypeScript. It answers
 * what the native mock would answer through the nvml/dcmi backends (same units, same NOT_SUPPORTED
 * and return-code rules, XIDs once), and has a control surface — setValue, setReturn, pushXid,
 * reset — for tests and fault injection. A documented product, not test debris (STYLE.md §3).
 */
import type { Logger } from '../../common/logger.js';
import type { DcmiSection, NpuDeviceSpec, NvmlDeviceSpec, NvmlSection } from '../scenario.js';
import {
  CALL_TIMEOUT,
  type AccelEvent,
  type AcceleratorBackend,
  type ApiError,
  type BackendStatus,
  type DeviceIdentity,
  type DeviceSample,
  type GroupRead,
  type ProbeGroup,
  type Vendor,
} from '../types.js';
import { SimEvents } from './events.js';
import { callLabel, DCMI_CALLS, IDENTITY_APIS, LIFECYCLE_APIS, NVML_CALLS, type SimCall, SimLibrary } from './library.js';
import { apiError, notSupportedCode, NVML_GPU_IS_LOST, returnName } from './returns.js';

export interface SimBackendOptions {
  /** Scenario name, shown as the backend's library path (`sim:<name>`). */
  readonly scenario: string;
  readonly log: Logger;
  readonly now?: () => number;
  /** As the nvml and dcmi backends': a `hang` at least this long reads as a call that did not return (default 2000 ms). */
  readonly callTimeoutMs?: number;
}

/** The NVML event wait call: overriding it makes the event source fail (every device unknown). */
export const NVML_EVENT_WAIT_API = 'nvmlEventSetWait_v2';

const EMPTY: GroupRead = Object.freeze({ values: {}, errors: [], unsupported: [] });

export class SimBackend implements AcceleratorBackend {
  readonly kind = 'sim' as const;
  readonly vendor: Vendor;
  private readonly lib: SimLibrary;
  private readonly events: SimEvents;
  private readonly xids: readonly { device: number; xid: number }[];
  private readonly opts: SimBackendOptions;
  private current: BackendStatus;
  private identities: DeviceIdentity[] = [];
  private opened = false;
  private closed = false;
  /** Devices with a call "stuck" in a `hang`: the call and when it returns (ms epoch). */
  private readonly hung = new Map<number, { readonly api: string; readonly until: number }>();

  constructor(vendor: Vendor, section: NvmlSection | DcmiSection, opts: SimBackendOptions) {
    this.vendor = vendor;
    this.opts = opts;
    this.lib = new SimLibrary(vendor, section);
    this.events = new SimEvents(opts.now);
    this.xids = 'xids' in section ? (section.xids ?? []) : [];
    this.current = { kind: 'sim', vendor, state: 'absent', message: 'not opened', libraryPath: `sim:${opts.scenario}` };
  }

  async open(): Promise<BackendStatus> {
    if (this.opened) return this.current;
    this.opened = true;
    this.current = this.evaluateOpen();
    if (this.current.state === 'up') {
      this.identities = this.lib.deviceIndexes().map((i) => this.identity(i));
      for (const { device, xid } of this.xids) this.events.pushXid(device, xid);
    }
    this.opts.log.debug({ vendor: this.vendor, state: this.current.state, devices: this.identities.length }, 'sim backend opened');
    return this.current;
  }

  status(): BackendStatus {
    return this.current;
  }

  devices(): readonly DeviceIdentity[] {
    return this.identities;
  }

  async read(index: number, group: ProbeGroup): Promise<GroupRead> {
    const spec = this.lib.spec(index);
    if (this.closed || this.current.state !== 'up' || spec === undefined) return EMPTY;
    const calls = (this.vendor === 'nvidia' ? NVML_CALLS : DCMI_CALLS)[group] as readonly SimCall<Record<string, unknown>>[];
    const values: DeviceSample = {};
    const errors = new Map<string, ApiError>();
    const unsupported = new Set<string>();
    const notSupported = notSupportedCode(this.vendor);
    // A failed handle (GPU lost, device gone) fails every call on the device with the same code.
    const handleCode = this.failure(LIFECYCLE_APIS[this.vendor].handle, index);
    for (const call of calls) {
      const label = callLabel(call);
      const stuck = await this.hang(index, call.api, label, spec);
      if (stuck !== undefined) {
        errors.set(CALL_TIMEOUT, stuck);
        break;
      }
      const code = handleCode ?? this.failure(call.api, index);
      if (code === notSupported || (code === undefined && call.keys.every((k) => spec[k] === undefined))) {
        unsupported.add(label);
        if (call.stopWhenUnavailable === true) break;
      } else if (code !== undefined) {
        errors.set(`${label}:${code}`, apiError(this.vendor, label, code));
        // As the nvml backend does: once the GPU is lost, the rest of the read would fail alike.
        if ((this.vendor === 'nvidia' && code === NVML_GPU_IS_LOST) || call.stopWhenUnavailable === true) break;
      } else {
        Object.assign(values, call.read(spec, values));
      }
    }
    return { values, errors: [...errors.values()], unsupported: [...unsupported] };
  }

  /**
   * The nvml and dcmi backends' view of a `hang`: one at least callTimeoutMs long is a call that did not
   * return (the device makes no call until it would have); a shorter one just delays the read.
   */
  private async hang(index: number, api: string, label: string, spec: Record<string, unknown>): Promise<ApiError | undefined> {
    const timeout = this.opts.callTimeoutMs ?? 2000;
    const now = (this.opts.now ?? Date.now)();
    const held = this.hung.get(index);
    if (held !== undefined && held.until > now) return { api: held.api, code: CALL_TIMEOUT, value: -1, message: `${held.api} did not return within ${timeout} ms` };
    this.hung.delete(index);
    const ms = (spec.hang as Record<string, number> | undefined)?.[api];
    if (ms === undefined) return undefined;
    if (ms < timeout) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return undefined;
    }
    this.hung.set(index, { api: label, until: now + ms });
    return { api: label, code: CALL_TIMEOUT, value: -1, message: `${label} did not return within ${timeout} ms` };
  }

  onEvent(listener: (event: AccelEvent) => void): () => void {
    return this.events.on(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events.close();
  }

  // ---- control surface (tests, fault injection) ----

  /** Sets a scenario key of device `index` (-1: every device), in scenario units (`tempGpu`, `powerUsageMw`, …); undefined removes it (NOT_SUPPORTED). */
  setValue(index: number, key: keyof NvmlDeviceSpec | keyof NpuDeviceSpec, value: unknown): void {
    this.lib.setValue(index, key, value);
  }

  /** Makes `api` return `code` on device `index` (-1: every device); 0 clears the override. */
  setReturn(api: string, index: number, code: number): void {
    this.lib.setReturn(api, index, code);
    if (api === NVML_EVENT_WAIT_API && code !== 0 && this.vendor === 'nvidia') {
      this.events.fail({ kind: 'event-error', error: apiError(this.vendor, api, code), at: (this.opts.now ?? Date.now)() });
    }
  }

  /** Queues an XID for device `index`, delivered once to the event listeners. */
  pushXid(index: number, xid: number): void {
    this.events.pushXid(index, xid);
  }

  /** Back to the scenario as loaded: values and overrides restored, queued XIDs dropped. */
  reset(): void {
    this.lib.reset();
    this.hung.clear();
    this.events.clear();
  }

  private failure(api: string, index: number): number | undefined {
    const code = this.lib.returnFor(api, index);
    return code === undefined || code === 0 ? undefined : code;
  }

  private evaluateOpen(): BackendStatus {
    const base = { kind: 'sim' as const, vendor: this.vendor, libraryPath: `sim:${this.opts.scenario}` };
    const { init, count } = LIFECYCLE_APIS[this.vendor];
    for (const [api, code] of [
      [init, this.lib.initCode],
      [count, this.failure(count, -1) ?? 0],
    ] as const) {
      if (code !== 0) {
        return { ...base, state: 'failed', message: `${api}: ${returnName(this.vendor, code)} (${code})`, error: apiError(this.vendor, api, code) };
      }
    }
    return {
      ...base,
      state: 'up',
      ...(this.lib.driverVersion !== undefined ? { driverVersion: this.lib.driverVersion } : {}),
      ...(this.lib.libraryVersion !== undefined ? { libraryVersion: this.lib.libraryVersion } : {}),
    };
  }

  private identity(index: number): DeviceIdentity {
    const spec = this.lib.spec(index) ?? {};
    const ok = (api: string): boolean => this.failure(api, index) === undefined;
    if (this.vendor === 'nvidia') {
      const s = spec as NvmlDeviceSpec;
      const apis = IDENTITY_APIS.nvidia;
      return {
        vendor: 'nvidia',
        index,
        uuid: ok(apis.uuid) ? (s.uuid ?? '') : '',
        name: ok(apis.name) ? (s.name ?? '') : '',
        pciBusId: ok(apis.pciBusId) ? (s.pciBusId ?? '') : '',
        ...(s.serial !== undefined && ok(apis.serial) ? { serial: s.serial } : {}),
        ...(s.arch !== undefined && ok(apis.arch) ? { arch: String(s.arch) } : {}),
        ...(s.minor !== undefined && ok(apis.minor) ? { minor: s.minor } : {}),
      };
    }
    const s = spec as NpuDeviceSpec;
    const apis = IDENTITY_APIS.ascend;
    const chip = ok(apis.name);
    const hex = (v: number, width: number): string => v.toString(16).padStart(width, '0');
    return {
      vendor: 'ascend',
      index,
      uuid: s.dieId !== undefined && ok(apis.uuid) ? `NPU-${s.dieId.map((w) => hex(w, 8)).join('-')}` : '',
      name: chip ? `${s.chipType ?? ''}${s.chipName ?? ''}` : '',
      pciBusId: ok(apis.pciBusId)
        ? `${hex(s.pciDomain ?? 0, 8)}:${hex(s.pciBus ?? 0, 2)}:${hex(s.pciDevice ?? 0, 2)}.${hex(s.pciFunc ?? 0, 1)}`
        : '',
      ...(s.chipName !== undefined && chip ? { arch: s.chipName } : {}),
      cardId: s.cardId ?? index,
      deviceId: s.deviceId ?? 0,
      ...(ok(apis.phyId) ? { phyId: s.phyId ?? index } : {}),
    };
  }
}
