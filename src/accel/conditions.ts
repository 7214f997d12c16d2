/**
 * The device condition rules: one table that both the health policy (health.ts) and diagnose
 * (diagnose/*-check*.ts) evaluate, so the two never judge the same reading differently. A rule
 * looks at one sample (and the failed calls of that sample) and answers conditions, each tied to
 * the diagnose check that reports it:
 *   unhealthy → health `unhealthy` (sticky until it clears), diagnose `fail`
 *   degraded  → health `degraded`,                           diagnose `warn`
 * Diagnose may warn about more than this (advisories: counters since driver load, replay or NVLink
 * counters rising, ECC switched off, power a little over the cap): those never change health.
 */
import type { DiagnoseAction } from './diagnose/diagnose-report.js';
import { RECOVERY_ACTIONS } from './diagnose/xid-catalog.js';
import { faultCodeHex } from './fault-code.js';
import type { ApiError, DeviceSample, Vendor } from './types.js';

export type ConditionLevel = 'unhealthy' | 'degraded';

export interface Condition {
  /** The diagnose check that reports this condition (its fail or warn). */
  readonly check: string;
  readonly level: ConditionLevel;
  readonly action: DiagnoseAction;
  /** Health's reason, e.g. "row remap failure". */
  readonly reason: string;
}

/**
 * A link below its maximum generation is judged only under load: idle GPUs lower the generation
 * on their own to save power (every idle node would read degraded otherwise). Width does not
 * downshift with load, so it is judged always.
 */
export const PCIE_GEN_LOAD_PERCENT = 20;

const NVML_GPU_IS_LOST = 15;
const NVML_RESET_REQUIRED = 16;
const NPU_ABSENT = 0xffffffff;
const NPU_LEVELS: Readonly<Record<number, string>> = { 1: 'minor', 2: 'major', 3: 'critical' };
/** dcmi codes meaning the chip is gone: -8007 INVALID_DEVICE_ID, -8008 DEVICE_NOT_EXIST, -8015 RESET_FAIL. */
const NPU_GONE = new Set([-8007, -8008, -8015]);

/**
 * Handling classes of the Ascend device plugin's fault-code list (faultCode.json), for the codes
 * brixlet knows; an unknown code is judged by the chip's health level instead.
 */
export const NPU_FAULT_CLASSES: ReadonlyMap<number, { readonly cls: string; readonly action: DiagnoseAction }> = new Map([
  [0x80e24e00, { cls: 'RestartNPU', action: 'reset-npu' }],
  [0x80e3a201, { cls: 'SeparateNPU', action: 'replace-device' }],
]);

export const CLOCK_HW_SLOWDOWN = 0x8;
export const CLOCK_SW_THERMAL = 0x20;
export const CLOCK_HW_THERMAL = 0x40;
export const CLOCK_POWER_BRAKE = 0x80;

const unhealthy = (check: string, action: DiagnoseAction, reason: string): Condition => ({ check, level: 'unhealthy', action, reason });
const degraded = (check: string, action: DiagnoseAction, reason: string): Condition => ({ check, level: 'degraded', action, reason });

type Rule = (vendor: Vendor, s: DeviceSample, errors: readonly ApiError[]) => Condition[];

const deviceAccess: Rule = (vendor, _s, errors) => {
  if (vendor === 'nvidia') {
    const out: Condition[] = [];
    const lost = errors.find((e) => e.value === NVML_GPU_IS_LOST);
    if (lost !== undefined) out.push(unhealthy('device-access', 'reboot-node', `GPU is lost (${lost.api}: ${lost.code})`));
    const reset = errors.find((e) => e.value === NVML_RESET_REQUIRED);
    if (reset !== undefined) out.push(unhealthy('device-access', 'reset-gpu', `GPU reset required (${reset.api}: ${reset.code})`));
    return out;
  }
  const gone = errors.find((e) => NPU_GONE.has(e.value));
  return gone === undefined ? [] : [unhealthy('device-access', 'reboot-node', `NPU does not answer (${gone.api}: ${gone.code})`)];
};

const ecc: Rule = (_v, s) => {
  const unc = [
    ['double-bit', s.eccDbeVolatile],
    ['SRAM uncorrectable', s.eccSramUncorrectedVolatile],
    ['DRAM uncorrectable', s.eccDramUncorrectedVolatile],
  ] as const;
  // The double-bit wording first: it is what health has always said for the common case.
  if ((s.eccDbeVolatile ?? 0) > 0) return [unhealthy('ecc-volatile', 'reset-gpu', `ECC double-bit errors: ${s.eccDbeVolatile} (volatile)`)];
  const bad = unc.filter(([, v]) => (v ?? 0) > 0);
  return bad.length === 0 ? [] : [unhealthy('ecc-volatile', 'reset-gpu', `ECC ${bad.map(([n, v]) => `${n} errors: ${v}`).join(', ')} (volatile)`)];
};

const retirement: Rule = (_v, s) => {
  const out: Condition[] = [];
  if (s.remapFailure === true) out.push(unhealthy('row-remap', 'reset-gpu', 'row remap failure'));
  else if (s.remapPending === true) out.push(degraded('row-remap', 'reset-gpu', 'row remap pending (reset the GPU)'));
  if (s.retiredPagesPending === true) out.push(degraded('retired-pages', 'reset-gpu', 'retired pages pending (reset the GPU)'));
  return out;
};

const recovery: Rule = (_v, s) => {
  const value = s.recoveryAction;
  if (value === undefined || value === 0) return [];
  const known = RECOVERY_ACTIONS[value];
  const reason = `recovery action ${known?.name ?? 'UNKNOWN'} (${value})`;
  // DRAIN_P2P: the GPU still serves work that does not use peer-to-peer; an unknown value is watched.
  if (known === undefined) return [degraded('recovery-action', 'monitor', reason)];
  if (known.action === 'drain-p2p') return [degraded('recovery-action', 'drain-p2p', reason)];
  return [unhealthy('recovery-action', known.action, reason)];
};

const npu: Rule = (_v, s) => {
  const out: Condition[] = [];
  const h = s.npuHealth;
  if (h === NPU_ABSENT) out.push(unhealthy('npu-health', 'reboot-node', 'NPU not present (health 0xFFFFFFFF)'));
  else if (h !== undefined && h >= 2) out.push(unhealthy('npu-health', 'reset-npu', `NPU ${NPU_LEVELS[h] ?? 'unknown'} alarm (health ${h})`));
  else if (h === 1) out.push(degraded('npu-health', 'monitor', 'NPU minor alarm (health 1)'));
  const codes = s.npuFaultCodes ?? [];
  if (codes.length > 0) {
    const reason = `NPU fault codes: ${codes.map(faultCodeHex).join(', ')}`;
    const known = codes.map((c) => NPU_FAULT_CLASSES.get(c >>> 0)).filter((k) => k !== undefined);
    if (known.some((k) => k.action === 'replace-device')) out.push(unhealthy('npu-fault-codes', 'replace-device', reason));
    else if (known.length > 0 || (h !== undefined && h >= 2)) out.push(unhealthy('npu-fault-codes', 'reset-npu', reason));
    else out.push(degraded('npu-fault-codes', 'monitor', reason));
  }
  if ((s.hbmEccDbe ?? 0) > 0) out.push(unhealthy('npu-hbm-ecc', 'reset-npu', `HBM ECC double-bit errors: ${s.hbmEccDbe}`));
  if (s.npuNetworkHealth === 5) out.push(degraded('npu-network', 'check-cabling', 'NPU network port fault (network health 5)'));
  return out;
};

const pcie: Rule = (_v, s) => {
  const out: Condition[] = [];
  const { pcieGen, pcieGenMax, pcieWidth, pcieWidthMax, gpuUtilPercent } = s;
  if (pcieGen !== undefined && pcieGenMax !== undefined && pcieGen < pcieGenMax && pcieUnderLoad(s)) {
    out.push(degraded('pcie-gen', 'check-cabling', `PCIe link gen ${pcieGen} below max ${pcieGenMax} at ${gpuUtilPercent}% utilization`));
  }
  if (pcieWidth !== undefined && pcieWidthMax !== undefined && pcieWidth < pcieWidthMax) out.push(degraded('pcie-width', 'check-cabling', `PCIe link width x${pcieWidth} below max x${pcieWidthMax}`));
  return out;
};

const nvlink: Rule = (_v, s) => {
  const down = (s.nvlinks ?? []).filter((l) => !l.active).map((l) => l.link);
  return down.length === 0 ? [] : [degraded('nvlink', 'reset-gpu', `NVLink inactive: link ${down.join(', ')}`)];
};

const thermal: Rule = (_v, s) => {
  const { gpuTempC: t, slowdownTempC: slowdown, shutdownTempC: shutdown } = s;
  if (t === undefined) return [];
  if (shutdown !== undefined && shutdown > 0 && t >= shutdown) return [unhealthy('temperature', 'cool-down', `temperature ${t} °C at or above shutdown threshold ${shutdown} °C`)];
  if (slowdown !== undefined && slowdown > 0 && t >= slowdown) return [degraded('temperature', 'cool-down', `temperature ${t} °C at or above slowdown threshold ${slowdown} °C`)];
  return [];
};

const clocks: Rule = (_v, s) => {
  const mask = s.clockEventReasons ?? 0;
  const out: Condition[] = [];
  const slow = [
    [CLOCK_HW_SLOWDOWN, 'HW slowdown'],
    [CLOCK_SW_THERMAL, 'SW thermal slowdown'],
    [CLOCK_HW_THERMAL, 'HW thermal slowdown'],
  ] as const;
  const names = slow.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name);
  if (names.length > 0) out.push(degraded('clock-events', (mask & (CLOCK_SW_THERMAL | CLOCK_HW_THERMAL)) !== 0 ? 'cool-down' : 'monitor', `clock events: ${names.join(', ')}`));
  if ((mask & CLOCK_POWER_BRAKE) !== 0) out.push(degraded('power', 'check-power', 'clock events: HW power brake'));
  return out;
};

const RULES: readonly Rule[] = [deviceAccess, ecc, retirement, recovery, npu, pcie, nvlink, thermal, clocks];

/** Every diagnose check that reports a condition rule (the others only advise). */
export const CONDITION_CHECKS: ReadonlySet<string> = new Set([
  'device-access',
  'ecc-volatile',
  'row-remap',
  'retired-pages',
  'recovery-action',
  'npu-health',
  'npu-fault-codes',
  'npu-hbm-ecc',
  'npu-network',
  'pcie-gen',
  'pcie-width',
  'nvlink',
  'temperature',
  'clock-events',
  'power',
  'xid',
]);

/** Whether the link generation is judged: utilization read and at least PCIE_GEN_LOAD_PERCENT. */
export function pcieUnderLoad(s: DeviceSample): boolean {
  return s.gpuUtilPercent !== undefined && s.gpuUtilPercent >= PCIE_GEN_LOAD_PERCENT;
}

/** Every condition of one sample, unhealthy ones first, in rule order. */
export function evaluateConditions(vendor: Vendor, sample: DeviceSample, errors: readonly ApiError[]): Condition[] {
  const all = RULES.flatMap((rule) => rule(vendor, sample, errors));
  return [...all.filter((c) => c.level === 'unhealthy'), ...all.filter((c) => c.level === 'degraded')];
}

/** The conditions one diagnose check reports, worst first. */
export function conditionsOf(check: string, vendor: Vendor, sample: DeviceSample, errors: readonly ApiError[]): Condition[] {
  return evaluateConditions(vendor, sample, errors).filter((c) => c.check === check);
}
