/**
 * Named faults a user applies with one call (`POST /v1/faults/presets/gpu-lost {"target":
 * {"device": 3}}`): each is one rule whose effect mirrors the matching scenario in mocks/scenarios/,
 * so an agent under a preset reads as it would on that broken node. Rule ids are
 * `<preset>.<device|uuid|all>`: applying a preset again to the same device replaces it.
 */
import { BrixletError } from '../../common/errors.js';
import { suggestMany } from '../../common/suggest.js';
import type { Vendor } from '../types.js';
import type { FaultRuleInput, FaultTarget } from './rule-schema.js';

export interface PresetParams {
  /** nvml-init-failure: the nvmlReturn_t (9, 12 or 18). npu-fault: the fault code. */
  readonly code?: number;
  /** nvlink-down: the links that go inactive (default [0]). */
  readonly links?: readonly number[];
  /** thermal-slowdown: the core temperature (default 95 °C). */
  readonly tempC?: number;
}

export interface PresetRequest {
  readonly target?: FaultTarget;
  readonly params?: PresetParams;
  readonly ttlMs?: number;
  readonly sticky?: boolean;
}

export interface FaultPreset {
  readonly name: string;
  readonly vendor: Vendor;
  readonly description: string;
  /** Whole-library presets (init failures) take no device. */
  readonly scope: 'library' | 'device';
  /** Parameter → what it means and its default. */
  readonly params?: Readonly<Record<string, string>>;
  readonly build: (p: PresetParams) => Pick<FaultRuleInput, 'what' | 'effect'>;
}

const NVML_INIT_CODES = [9, 12, 18];

const presets: readonly FaultPreset[] = [
  {
    name: 'nvml-init-failure',
    vendor: 'nvidia',
    scope: 'library',
    description: 'nvmlInit fails: 9 DRIVER_NOT_LOADED (default), 12 LIBRARY_NOT_FOUND or 18 LIB_RM_VERSION_MISMATCH. The NVIDIA backend reports failed and no GPU is read.',
    params: { code: '9 (default), 12 or 18' },
    build: (p) => {
      const code = p.code ?? 9;
      if (!NVML_INIT_CODES.includes(code)) throw bad('nvml-init-failure', `params.code ${code} is not one of ${NVML_INIT_CODES.join(', ')}`);
      return { what: { api: 'init' }, effect: { return: code } };
    },
  },
  {
    name: 'gpu-lost',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The GPU fell off the bus: every call on it returns 15 (GPU_IS_LOST) and XID 79 is delivered once. Health unhealthy; diagnose fails device-access and xid (reboot-node).',
    build: () => ({ what: { class: 'lost' }, effect: { return: 'GPU_IS_LOST', xid: 79 } }),
  },
  {
    name: 'ecc-dbe',
    vendor: 'nvidia',
    scope: 'device',
    description: 'Double-bit ECC errors: XID 48 once, 2 volatile and aggregate DBEs in DRAM, retired pages pending. Health unhealthy; diagnose fails ecc-volatile and xid (reset-gpu).',
    build: () => ({
      what: { class: 'ecc' },
      effect: { xid: 48, values: { eccDbeVolatile: 2, eccDbeAggregate: 2, eccDramUncorrectedVolatile: 2, retiredPagesPending: true } },
    }),
  },
  {
    name: 'row-remap-pending',
    vendor: 'nvidia',
    scope: 'device',
    description: 'A row remap waits for a GPU reset: XID 63 once, remapPending with one uncorrectable row remapped. Health unhealthy (the XID), degraded by the pending remap.',
    build: () => ({ what: { class: 'remap' }, effect: { xid: 63, values: { remapPending: true, remappedRowsUncorrectable: 1 } } }),
  },
  {
    name: 'row-remap-failure',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The GPU ran out of spare rows: XID 64 once, remapFailure with 8 uncorrectable rows. Health unhealthy; diagnose fails row-remap and xid (reset-gpu, replace if it recurs).',
    build: () => ({ what: { class: 'remap' }, effect: { xid: 64, values: { remapFailure: true, remappedRowsUncorrectable: 8 } } }),
  },
  {
    name: 'pcie-degraded',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The PCIe link trained at Gen3 x8 with 1200 replays. Health degraded; diagnose warns on pcie-width and, under load, pcie-gen (check-cabling).',
    build: () => ({ what: { class: 'pcie' }, effect: { values: { pcieGen: 3, pcieWidth: 8, pcieReplayCount: 1200 } } }),
  },
  {
    name: 'nvlink-down',
    vendor: 'nvidia',
    scope: 'device',
    description: 'NVLinks go inactive (link 0 by default) and XID 74 is delivered once. Health unhealthy (the XID); diagnose fails xid and warns on nvlink (reset-gpu).',
    params: { links: 'links to take down (default [0])' },
    build: (p) => {
      const links = p.links ?? [0];
      if (links.length === 0 || links.some((l) => !Number.isInteger(l) || l < 0 || l > 17)) throw bad('nvlink-down', 'params.links must list link numbers 0-17');
      return { what: { class: 'nvlink' }, effect: { xid: 74, values: { nvlinks: links.map((link) => ({ link, active: false })) } } };
    },
  },
  {
    name: 'thermal-slowdown',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The GPU runs hot (92 °C by default, above the 90 °C slowdown and below the 94 °C shutdown threshold of an H100) with the HW and SW thermal clock-event reasons (0x60) and SM clock cut to 1200 MHz. Health degraded; diagnose warns on temperature and clock events (cool-down).',
    params: { tempC: 'core temperature, °C (default 92)' },
    build: (p) => ({ what: { class: 'thermal' }, effect: { values: { gpuTempC: p.tempC ?? 92, clockEventReasons: 0x60, smClockMhz: 1200, graphicsClockMhz: 1200 } } }),
  },
  {
    name: 'power-brake',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The system asserts the HW power brake (clock-event reason 0x80) and clocks drop to 900 MHz. Health degraded; diagnose warns on the power check (check-power).',
    build: () => ({ what: { class: 'power' }, effect: { values: { clockEventReasons: 0x80, smClockMhz: 900, graphicsClockMhz: 900 } } }),
  },
  {
    name: 'recovery-reboot',
    vendor: 'nvidia',
    scope: 'device',
    description: 'The driver asks for a node reboot: field 230 (recovery action) reads 2 and XID 154 is delivered once. Health unhealthy until the action is NONE; diagnose fails recovery-action (reboot-node).',
    build: () => ({ effect: { xid: 154, values: { recoveryAction: 2 } } }),
  },
  {
    name: 'npu-init-failure',
    vendor: 'ascend',
    scope: 'library',
    description: 'dcmi_init fails with -8005 (INNER_ERR): the Ascend backend reports failed and no NPU is read.',
    build: () => ({ what: { api: 'init' }, effect: { return: -8005 } }),
  },
  {
    name: 'npu-fault',
    vendor: 'ascend',
    scope: 'device',
    description: 'The NPU raises a major alarm: health 2 and fault code 0x80E24E00 (or params.code). Health unhealthy; diagnose fails npu-health and npu-fault-codes (reset-npu).',
    params: { code: 'fault code, unsigned (default 0x80E24E00)' },
    build: (p) => ({ what: { class: 'npu-health' }, effect: { npuHealth: 2, faultCodes: [p.code ?? 0x80e24e00] } }),
  },
  {
    name: 'npu-lost',
    vendor: 'ascend',
    scope: 'device',
    description: 'The NPU is gone: health reads 0xFFFFFFFF and every other call returns -8008 (DEVICE_NOT_EXIST). Health unhealthy; diagnose fails npu-health and device-access (reboot-node).',
    build: () => ({ what: { class: 'lost' }, effect: { return: -8008, npuHealth: 0xffffffff } }),
  },
];

export const FAULT_PRESETS: ReadonlyMap<string, FaultPreset> = new Map(presets.map((p) => [p.name, p]));

function bad(name: string, reason: string): BrixletError {
  return new BrixletError('BRX_ERR_FAULT_RULE_INVALID', { reason: `preset ${name}: ${reason}` });
}

/** The rule a preset makes for a target; the caller adds it to the engine (with replace). */
export function presetRule(name: string, req: PresetRequest = {}): FaultRuleInput {
  const preset = FAULT_PRESETS.get(name);
  if (preset === undefined) {
    const hints = suggestMany(name, FAULT_PRESETS.keys());
    // The hint rides on the id so the catalog message stays one template for rules and presets.
    const id = hints.length > 0 ? `${name} (did you mean ${hints.join(', ')}?)` : name;
    throw new BrixletError('BRX_ERR_FAULT_NOT_FOUND', { kind: 'preset', id }, { details: [{ unknown: name, suggestions: hints }] });
  }
  const t = req.target ?? {};
  if (t.vendor !== undefined && t.vendor !== preset.vendor) throw bad(name, `it is an ${preset.vendor} fault, target.vendor says ${t.vendor}`);
  let where = 'all';
  if (preset.scope === 'device') {
    if (t.device === undefined && t.uuid === undefined) throw bad(name, 'say which device: target.device (an index, or * for every device) or target.uuid');
    where = (t.uuid ?? (t.device === '*' ? 'all' : String(t.device))).replace(/[^A-Za-z0-9._:-]/g, '_');
  } else if ((t.device !== undefined && t.device !== '*') || t.uuid !== undefined) {
    throw bad(name, 'it fails the whole library: leave target.device and target.uuid out');
  }
  const target: FaultTarget = { ...(preset.scope === 'device' && t), vendor: preset.vendor };
  return {
    id: `${name}.${where}`.slice(0, 64),
    target,
    ...preset.build(req.params ?? {}),
    ...(req.ttlMs !== undefined && { ttlMs: req.ttlMs }),
    ...(req.sticky !== undefined && { sticky: req.sticky }),
  };
}
