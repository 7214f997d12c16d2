/**
 * The Ascend backend: DCMI through koffi. Every call is async (koffi's thread pool) because a DCMI
 * call can take milliseconds; devices are addressed by logic id, as Ascend tools number them.
 */
import { BrixletError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { findLibrary, systemExists } from '../discovery.js';
import type { AccelEvent, AcceleratorBackend, ApiError, BackendStatus, DeviceIdentity, GroupRead, ProbeGroup } from '../types.js';
import { DcmiEvents } from './events.js';
import { DCMI_GROUPS } from './groups.js';
import { cText, DcmiLibrary } from './library.js';
import { type DcmiChip, DcmiReadContext } from './read-context.js';
import { DCMI_OK, dcmiError, formatDcmiError } from './returns.js';

export interface DcmiBackendOptions {
  /** Configured library path ('' or undefined = BRIXLET_DCMI_LIBRARY, then the known Ascend paths). */
  readonly library?: string;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly exists?: (path: string) => boolean;
  /** accel.callTimeout: how long one sampling call may take before its chip is unknown (ms, default 2000). */
  readonly callTimeoutMs?: number;
}

const MAX_CARDS = 64;
const VERSION_BYTES = 64;
const DIE_VDIE = 1;
/** A read that has nothing to read: fresh each time, since callers own what read() returns. */
const empty = (): GroupRead => ({ values: {}, errors: [], unsupported: [] });

export class DcmiBackend implements AcceleratorBackend {
  readonly kind = 'dcmi' as const;
  readonly vendor = 'ascend' as const;
  private current: BackendStatus = { kind: 'dcmi', vendor: 'ascend', state: 'absent', message: 'not opened' };
  private lib?: DcmiLibrary;
  private chips: DcmiChip[] = [];
  private identities: DeviceIdentity[] = [];
  private readonly events = new DcmiEvents();
  private opening?: Promise<BackendStatus>;
  private closed = false;

  constructor(private readonly opts: DcmiBackendOptions) {}

  open(): Promise<BackendStatus> {
    this.opening ??= this.openNow();
    return this.opening;
  }

  private async openNow(): Promise<BackendStatus> {
    const env = this.opts.env ?? process.env;
    const configured = this.opts.library || env.BRIXLET_DCMI_LIBRARY || '';
    const found = findLibrary('dcmi', { configured, exists: this.opts.exists ?? systemExists });
    if ('absent' in found) return this.setStatus({ state: 'absent', message: found.absent });
    const lib = DcmiLibrary.open(found.path);
    if (lib instanceof Error) return this.setStatus({ state: 'failed', message: `cannot load ${found.path}: ${lib.message}`, libraryPath: found.path });
    this.lib = lib;
    if (this.opts.callTimeoutMs !== undefined) lib.callTimeoutMs = this.opts.callTimeoutMs;
    const rc = await lib.call('init');
    if (rc !== DCMI_OK) {
      const error = dcmiError(lib.name('init'), rc);
      return this.setStatus({ state: 'failed', message: formatDcmiError(error), error, libraryPath: found.path });
    }
    const [driverVersion, libraryVersion] = await Promise.all([this.version(lib, 'driverVersion'), this.version(lib, 'dcmiVersion')]);
    const cards = await this.cards(lib);
    if (!Array.isArray(cards)) return this.setStatus({ state: 'failed', message: formatDcmiError(cards), error: cards, libraryPath: found.path, driverVersion, libraryVersion });
    for (const card of cards) await this.addCard(lib, card);
    this.chips.sort((a, b) => a.logicId - b.logicId);
    this.identities.sort((a, b) => a.index - b.index);
    this.opts.log.info({ library: found.path, devices: this.chips.length, driverVersion }, 'DCMI ready');
    return this.setStatus({ state: 'up', libraryPath: found.path, driverVersion, libraryVersion });
  }

  private setStatus(s: Omit<BackendStatus, 'kind' | 'vendor'>): BackendStatus {
    this.current = { kind: 'dcmi', vendor: 'ascend', ...s };
    if (s.state !== 'up') this.opts.log.info({ state: s.state, reason: s.message }, 'DCMI not available');
    return this.current;
  }

  private async version(lib: DcmiLibrary, api: 'driverVersion' | 'dcmiVersion'): Promise<string | undefined> {
    const buf = new Uint8Array(VERSION_BYTES);
    return (await lib.call(api, buf, VERSION_BYTES)) === DCMI_OK ? cText(buf) : undefined;
  }

  private async cards(lib: DcmiLibrary): Promise<number[] | ApiError> {
    const count = new Int32Array(1);
    const list = new Int32Array(MAX_CARDS);
    const rc = await lib.call('cardList', count, list, MAX_CARDS);
    if (rc !== DCMI_OK) return dcmiError(lib.name('cardList'), rc);
    return Array.from(list.subarray(0, Math.min(Math.max(count[0] ?? 0, 0), MAX_CARDS)));
  }

  private async addCard(lib: DcmiLibrary, cardId: number): Promise<void> {
    const num = new Int32Array(1);
    const rc = await lib.call('deviceNumInCard', cardId, num);
    if (rc !== DCMI_OK) {
      this.opts.log.warn({ cardId, error: dcmiError(lib.name('deviceNumInCard'), rc) }, 'cannot list the chips of an NPU card: it is left out');
      return;
    }
    for (let deviceId = 0; deviceId < (num[0] ?? 0); deviceId++) await this.addChip(lib, cardId, deviceId);
  }

  /** A chip without a logic id cannot be addressed by index and is left out (logged). */
  private async addChip(lib: DcmiLibrary, cardId: number, deviceId: number): Promise<void> {
    const logic = new Int32Array(1);
    const rc = await lib.call('logicId', logic, cardId, deviceId);
    if (rc !== DCMI_OK) {
      this.opts.log.warn({ cardId, deviceId, error: dcmiError(lib.name('logicId'), rc) }, 'cannot get the logic id of an NPU: it is left out');
      return;
    }
    const logicId = logic[0] ?? 0;
    const phy = new Uint32Array(1);
    const chip = new Uint8Array(100);
    const pcie = new Uint32Array(16);
    const die = new Uint32Array(5);
    const [phyRc, chipRc, pcieRc, dieRc] = await Promise.all([
      lib.call('phyIdFromLogicId', logicId, phy),
      lib.call('chipInfo', cardId, deviceId, chip),
      lib.call('pcieInfo', cardId, deviceId, pcie),
      lib.call('die', cardId, deviceId, DIE_VDIE, die),
    ]);
    // dcmi_chip_info: chip_type[32], chip_name[32], chip_ver[32], u32 aicore_cnt.
    const chipType = chipRc === DCMI_OK ? cText(chip, 0, 32) : '';
    const chipName = chipRc === DCMI_OK ? cText(chip, 32, 64) : '';
    this.chips.push({ logicId, cardId, deviceId, unsupported: new Set() });
    this.identities.push({
      vendor: 'ascend',
      index: logicId,
      uuid: dieRc === DCMI_OK ? ascendUuid(die) : '',
      name: `${chipType}${chipName}`,
      // dcmi_pcie_info_all: vendor, subvendor, device, subdevice, domain @16, bus @20, device @24, func @28.
      pciBusId: pcieRc === DCMI_OK ? ascendBusId(pcie[4] ?? 0, pcie[5] ?? 0, pcie[6] ?? 0, pcie[7] ?? 0) : '',
      ...(chipName !== '' && { arch: chipName }),
      cardId,
      deviceId,
      ...(phyRc === DCMI_OK && { phyId: phy[0] ?? 0 }),
    });
  }

  status(): BackendStatus {
    return this.current;
  }

  devices(): readonly DeviceIdentity[] {
    return this.identities;
  }

  async read(index: number, group: ProbeGroup): Promise<GroupRead> {
    const lib = this.lib;
    if (this.current.state !== 'up' || this.closed || lib === undefined) return empty();
    const chip = this.chips.find((c) => c.logicId === index);
    if (chip === undefined) throw new BrixletError('BRX_ERR_ACCEL_DEVICE_NOT_FOUND', { index });
    const reader = DCMI_GROUPS[group];
    if (reader === undefined) return empty();
    const ctx = new DcmiReadContext(lib, chip);
    await reader(ctx);
    const values = ctx.values;
    for (const key of Object.keys(values) as (keyof typeof values)[]) if (values[key] === undefined) delete values[key];
    return { values, errors: ctx.errors, unsupported: ctx.unsupported };
  }

  onEvent(listener: (event: AccelEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  /** DCMI has no shutdown call: closing stops reads and releases the library, unless a call is stuck in it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => undefined);
    this.events.clear();
    const lib = this.lib;
    this.lib = undefined;
    if (lib !== undefined && !(await lib.unload())) {
      // Unloading under a call that may still return into the library would crash the process: leave it.
      this.opts.log.warn({ stuck: lib.stuck }, 'DCMI calls still running at close: the library is left loaded');
    }
  }
}

/** `NPU-` + the five VDIE words as 8 lowercase hex digits each, joined by `-`. */
export function ascendUuid(words: ArrayLike<number>): string {
  return `NPU-${Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('-')}`;
}

/** `%08x:%02x:%02x.%x` of domain, bus, device, function. */
export function ascendBusId(domain: number, bus: number, device: number, func: number): string {
  const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0');
  return `${hex(domain, 8)}:${hex(bus, 2)}:${hex(device, 2)}.${hex(func, 1)}`;
}
