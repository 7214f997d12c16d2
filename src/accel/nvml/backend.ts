/**
 * The NVIDIA backend: NVML through koffi. Group reads run as synchronous calls in the NVML read
 * thread (read-thread.ts), one message each way per batch of reads, each call timed out by the main
 * thread's watchdog: a driver call that hangs makes its GPU unknown instead of freezing the main
 * thread. Without a compiled read thread (the .ts sources under vitest with no dist/) they run on
 * koffi's async path with the same per-call timeout (NvmlLibrary.invoke). Open-time calls
 * (init, count, handles, identity) are synchronous on the main thread; the event wait runs in the
 * events thread.
 */
import { BrixletError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { findLibrary, systemExists } from '../discovery.js';
import type { AccelEvent, AcceleratorBackend, ApiError, BackendStatus, DeviceIdentity, GroupRead, ProbeGroup } from '../types.js';
import { NvmlEvents } from './events.js';
import { NVML_GROUPS, readGroup } from './groups.js';
import { type NvmlApi, NvmlLibrary, STRING_BYTES } from './library.js';
import type { NvmlDevice } from './read-context.js';
import { NvmlReadThread, readWorkerEntry } from './read-thread.js';
import { formatNvmlError, NVML_SUCCESS, nvmlError } from './returns.js';

export interface NvmlBackendOptions {
  /** Configured library path ('' or undefined = BRIXLET_NVML_LIBRARY, then discovery). */
  readonly library?: string;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Injected file check for discovery (tests); defaults to the real file system and dynamic linker. */
  readonly exists?: (path: string) => boolean;
  /** nvmlEventSetWait_v2 timeout in ms (default 1000). */
  readonly eventWaitMs?: number;
  /** How long one sampling call may take before its GPU is judged unknown, ms (default 2000). */
  readonly callTimeoutMs?: number;
}

const INIT_FLAG_NO_GPUS = 1;
/** A read that has nothing to read: fresh each time, since callers own what read() returns. */
const empty = (): GroupRead => ({ values: {}, errors: [], unsupported: [] });

export class NvmlBackend implements AcceleratorBackend {
  readonly kind = 'nvml' as const;
  readonly vendor = 'nvidia' as const;
  private current: BackendStatus = { kind: 'nvml', vendor: 'nvidia', state: 'absent', message: 'not opened' };
  private lib?: NvmlLibrary;
  private gpus: NvmlDevice[] = [];
  private identities: DeviceIdentity[] = [];
  private readonly listeners = new Set<(event: AccelEvent) => void>();
  private events?: NvmlEvents;
  private reads?: NvmlReadThread;
  private opening?: Promise<BackendStatus>;
  private closed = false;
  private initialized = false;

  constructor(private readonly opts: NvmlBackendOptions) {}

  open(): Promise<BackendStatus> {
    this.opening ??= Promise.resolve().then(() => this.openNow());
    return this.opening;
  }

  private openNow(): BackendStatus {
    const env = this.opts.env ?? process.env;
    const configured = this.opts.library || env.BRIXLET_NVML_LIBRARY || '';
    const found = findLibrary('nvml', { configured, exists: this.opts.exists ?? systemExists });
    if ('absent' in found) return this.setStatus({ state: 'absent', message: found.absent });
    const lib = NvmlLibrary.open(found.path);
    if (lib instanceof Error) return this.setStatus({ state: 'failed', message: `cannot load ${found.path}: ${lib.message}`, libraryPath: found.path });
    this.lib = lib;
    if (this.opts.callTimeoutMs !== undefined) lib.callTimeoutMs = this.opts.callTimeoutMs;
    const init = this.init(lib);
    if (init !== undefined) return this.setStatus({ state: 'failed', message: formatNvmlError(init), error: init, libraryPath: found.path });
    this.initialized = true;
    const driverVersion = this.systemString(lib, 'driverVersion');
    const libraryVersion = this.systemString(lib, 'nvmlVersion');
    const count = this.deviceCount(lib);
    if (typeof count !== 'number') {
      return this.setStatus({ state: 'failed', message: formatNvmlError(count), error: count, libraryPath: found.path, driverVersion, libraryVersion });
    }
    for (let index = 0; index < count; index++) this.addDevice(lib, index);
    const entry = readWorkerEntry();
    if (entry !== undefined) this.reads = new NvmlReadThread({ lib, entry, log: this.opts.log, fallback: (index, group) => this.readInProcess(index, group) });
    this.opts.log.debug({ mode: this.reads?.mode ?? 'in-process', entry }, 'NVML read mode');
    this.opts.log.info({ library: found.path, devices: this.gpus.length, driverVersion }, 'NVML ready');
    return this.setStatus({ state: 'up', libraryPath: found.path, driverVersion, libraryVersion });
  }

  private setStatus(s: Omit<BackendStatus, 'kind' | 'vendor'>): BackendStatus {
    this.current = { kind: 'nvml', vendor: 'nvidia', ...s };
    if (s.state !== 'up') this.opts.log.info({ state: s.state, reason: s.message }, 'NVML not available');
    return this.current;
  }

  /** nvmlInitWithFlags(NO_GPUS) so a driver with zero GPUs is "up, no devices"; nvmlInit_v2 on drivers without it. */
  private init(lib: NvmlLibrary): ApiError | undefined {
    const withFlags = lib.native.resolve('initWithFlags');
    const plain = withFlags === undefined ? lib.native.resolve('init') : undefined;
    if (withFlags === undefined && plain === undefined) return nvmlError('nvmlInitWithFlags', 13);
    const rc = (withFlags !== undefined ? withFlags.fn(INIT_FLAG_NO_GPUS) : plain!.fn()) as number;
    return rc === NVML_SUCCESS ? undefined : nvmlError(withFlags?.name ?? plain!.name, rc);
  }

  private systemString(lib: NvmlLibrary, api: 'driverVersion' | 'nvmlVersion'): string | undefined {
    const f = lib.native.resolve(api);
    if (f === undefined) return undefined;
    lib.scratch.string.fill(0);
    return f.fn(lib.scratch.string, 80) === NVML_SUCCESS ? lib.scratch.text() : undefined;
  }

  private deviceCount(lib: NvmlLibrary): number | ApiError {
    const f = lib.native.resolve('count');
    if (f === undefined) return nvmlError('nvmlDeviceGetCount_v2', 13);
    const rc = f.fn(lib.scratch.slots[0]) as number;
    return rc === NVML_SUCCESS ? lib.scratch.u32(0) : nvmlError(f.name, rc);
  }

  /** A GPU whose handle cannot be had is kept (identity blank, every read reporting why) so health can see it. */
  private addDevice(lib: NvmlLibrary, index: number): void {
    const device: NvmlDevice = { index, unsupported: new Set() };
    this.gpus.push(device);
    this.identities.push({ vendor: 'nvidia', index, uuid: '', name: '', pciBusId: '' });
    const error = this.acquire(lib, device);
    if (error !== undefined) this.opts.log.warn({ index, error }, 'cannot get a handle for a GPU: reads will report the error');
  }

  /** Gets the device handle and reads the identity; the error when the handle cannot be had. */
  private acquire(lib: NvmlLibrary, device: NvmlDevice): ApiError | undefined {
    const s = lib.scratch;
    const byIndex = lib.native.resolve('handleByIndex');
    const rc = byIndex === undefined ? 13 : (byIndex.fn(device.index, s.slots[0]) as number);
    if (rc !== NVML_SUCCESS) return nvmlError(byIndex?.name ?? 'nvmlDeviceGetHandleByIndex_v2', rc);
    const handle = s.view.getBigUint64(0, true);
    device.handle = handle;
    const text = (api: NvmlApi, length: number): string | undefined => {
      const f = lib.native.resolve(api);
      s.string.fill(0);
      return f !== undefined && f.fn(handle, s.string, Math.min(length, STRING_BYTES)) === NVML_SUCCESS ? s.text() : undefined;
    };
    const u32 = (api: NvmlApi): number | undefined => {
      const f = lib.native.resolve(api);
      return f !== undefined && f.fn(handle, s.slots[0]) === NVML_SUCCESS ? s.u32(0) : undefined;
    };
    const pci = lib.native.resolve('pciInfo');
    s.clear(0);
    s.clear(1);
    const pciBusId = pci !== undefined && pci.fn(handle, s.slots[0]) === NVML_SUCCESS ? readBusId(s.bytes) : '';
    const serial = text('serial', 30);
    const arch = u32('architecture');
    const minor = u32('minor');
    const identity: DeviceIdentity = {
      vendor: 'nvidia',
      index: device.index,
      uuid: text('uuid', 96) ?? '',
      name: text('name', 96) ?? '',
      pciBusId,
      ...(serial !== undefined && { serial }),
      ...(arch !== undefined && { arch: String(arch) }),
      ...(minor !== undefined && { minor }),
    };
    this.identities = this.identities.map((d) => (d.index === device.index ? identity : d));
    return undefined;
  }

  status(): BackendStatus {
    return this.current;
  }

  /**
   * Where group reads run: 'thread' (synchronous calls in the NVML read thread), 'in-process'
   * (koffi's async path: no compiled read thread, or it could not start), undefined until up.
   */
  get readMode(): 'thread' | 'in-process' | undefined {
    if (this.current.state !== 'up') return undefined;
    return this.reads?.mode ?? 'in-process';
  }

  devices(): readonly DeviceIdentity[] {
    return this.identities;
  }

  async read(index: number, group: ProbeGroup): Promise<GroupRead> {
    if (this.current.state !== 'up' || this.closed || this.lib === undefined) return empty();
    const device = this.gpus.find((g) => g.index === index);
    if (device === undefined) throw new BrixletError('BRX_ERR_ACCEL_DEVICE_NOT_FOUND', { index });
    if (NVML_GROUPS[group] === undefined) return empty();
    if (device.handle === undefined) {
      const error = this.acquire(this.lib, device);
      if (error !== undefined) return { values: {}, errors: [error], unsupported: [] };
    }
    return this.reads !== undefined ? this.reads.read(index, group) : this.readInProcess(index, group);
  }

  /** The async-path read: the read thread's fallback, and the only path without a compiled thread. */
  private async readInProcess(index: number, group: ProbeGroup): Promise<GroupRead> {
    const device = this.gpus.find((g) => g.index === index);
    if (this.lib === undefined || device === undefined) return empty();
    return readGroup(this.lib, device, group);
  }

  onEvent(listener: (event: AccelEvent) => void): () => void {
    this.listeners.add(listener);
    this.startEvents();
    return () => void this.listeners.delete(listener);
  }

  /** The events thread starts with the first listener: nobody listening, no thread. */
  private startEvents(): void {
    if (this.events !== undefined || this.current.state !== 'up' || this.closed || this.gpus.length === 0 || this.lib === undefined) return;
    this.events = new NvmlEvents({
      libraryPath: this.lib.path,
      deviceCount: Math.max(...this.gpus.map((g) => g.index)) + 1,
      log: this.opts.log,
      emit: (e) => this.emit(e),
      ...(this.opts.eventWaitMs !== undefined && { waitTimeoutMs: this.opts.eventWaitMs }),
    });
    this.events.start();
  }

  /** A throwing listener must not take the others (or the process, from a worker message) down. */
  private emit(event: AccelEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.opts.log.error({ err, event }, 'accelerator event listener failed');
      }
    }
  }

  /** Resolves when the events thread has registered every GPU (tests wait on it before pushing XIDs). */
  eventsReady(): Promise<void> {
    return this.events?.ready ?? Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.events?.stop();
    this.listeners.clear();
    const lib = this.lib;
    if (lib === undefined) return;
    await this.reads?.close();
    await lib.idle();
    this.lib = undefined;
    if (lib.stuck > 0) {
      // Shutting down or unloading under a call that is still running would crash the process: leave both.
      this.opts.log.warn({ stuck: lib.stuck }, 'NVML calls still running at close: the library is left loaded');
      return;
    }
    if (this.initialized) lib.native.resolve('shutdown')?.fn();
    lib.unload();
  }
}

/** nvmlPciInfo_t.busId (32 chars at offset 36), falling back to busIdLegacy (16 chars at 0). */
function readBusId(bytes: Uint8Array): string {
  const id = cut(bytes, 36, 68);
  return id !== '' ? id : cut(bytes, 0, 16);
}

function cut(bytes: Uint8Array, start: number, end: number): string {
  let stop = start;
  while (stop < end && bytes[stop] !== 0) stop++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, stop - start).toString('latin1');
}
