/**
 * Which rules touch which calls of which device, worked out once per rule-set change so a read
 * only looks up its (device, group) list: nothing there means the read goes straight through.
 */
import type { DeviceIdentity, DeviceSample, ProbeGroup, Vendor } from '../types.js';
import { CALL_TABLE, type FaultCall, FIELD_PRODUCER, type SampleField, XID_CALL } from './call-table.js';
import type { ActiveFault } from './engine.js';
import type { FaultClass, FaultRule } from './rule.js';

export interface PlannedCall {
  readonly label: string;
  /** Fields the call fills: a return-code effect removes them. */
  readonly fields: readonly SampleField[];
  readonly code?: number;
  readonly values?: readonly (readonly [SampleField, unknown])[];
  /** Ascend fault codes added to what the chip reports. */
  readonly addCodes?: readonly number[];
  /** An XID-only rule: evaluated as the event wait until its XID is delivered. */
  readonly xidOnly?: boolean;
}

export interface PlanEntry {
  readonly fault: ActiveFault;
  readonly calls: readonly PlannedCall[];
}

export type DevicePlan = Partial<Record<ProbeGroup, readonly PlanEntry[]>>;

const CLASS_GROUPS: Partial<Record<FaultClass, readonly ProbeGroup[]>> = {
  ecc: ['ecc'],
  remap: ['retirement'],
  pcie: ['pcie'],
  nvlink: ['nvlink'],
  thermal: ['thermal'],
  power: ['power'],
};
const CLASS_CALL: Partial<Record<FaultClass, string>> = { 'npu-health': 'dcmi_get_device_health', 'npu-fault-code': 'dcmi_get_device_errorcode_v2' };
/** A chip that is gone still answers the health call: with 0xFFFFFFFF, not an error. */
const LOST_EXEMPT = new Set(['dcmi_get_device_health']);

export function targets(rule: FaultRule, device: DeviceIdentity): boolean {
  const t = rule.target;
  if (t.device !== undefined && t.device !== '*' && t.device !== device.index) return false;
  return t.uuid === undefined || t.uuid === device.uuid;
}

/** Does `what` select this call for a return-code effect? */
function selects(rule: FaultRule, group: ProbeGroup, c: FaultCall): boolean {
  const { api, class: cls } = rule.what;
  if (api !== undefined) return api === '*' || api === c.label || c.fns.includes(api);
  if (cls === 'lost') return !LOST_EXEMPT.has(c.label);
  if (cls === undefined) return false;
  const call = CLASS_CALL[cls];
  return call !== undefined ? call === c.label : (CLASS_GROUPS[cls]?.includes(group) ?? false);
}

/** Every call (of any group) a rule's return-code effect fails on a vendor, in table order, once each. */
export function selectedCalls(rule: FaultRule, vendor: Vendor): FaultCall[] {
  const out = new Map<string, FaultCall>();
  for (const [group, calls] of Object.entries(CALL_TABLE[vendor]) as [ProbeGroup, readonly FaultCall[]][]) {
    for (const c of calls) if (selects(rule, group, c)) out.set(c.label, c);
  }
  return [...out.values()];
}

function overrides(rule: FaultRule): [SampleField, unknown][] {
  const out = Object.entries(rule.effect.values ?? {}) as [SampleField, unknown][];
  if (rule.effect.npuHealth !== undefined) out.push(['npuHealth', rule.effect.npuHealth]);
  return out;
}

function entryFor(fault: ActiveFault, vendor: Vendor, group: ProbeGroup): PlanEntry | undefined {
  const rule = fault.rule;
  const code = rule.codes[vendor];
  const byLabel = new Map<string, { call: FaultCall; code?: number; values: [SampleField, unknown][]; addCodes?: readonly number[] }>();
  const slot = (c: FaultCall) => {
    let s = byLabel.get(c.label);
    if (s === undefined) byLabel.set(c.label, (s = { call: c, values: [] }));
    return s;
  };
  if (code !== undefined) for (const c of CALL_TABLE[vendor][group]) if (selects(rule, group, c)) slot(c).code = code;
  let hasValues = false;
  for (const [field, value] of overrides(rule)) {
    const producer = FIELD_PRODUCER[vendor].get(field);
    hasValues ||= producer !== undefined;
    if (producer?.group === group) slot(producer.call).values.push([field, value]);
  }
  const codes = rule.effect.faultCodes;
  const codesAt = FIELD_PRODUCER[vendor].get('npuFaultCodes');
  if (codes !== undefined && codesAt !== undefined) {
    hasValues = true;
    if (codesAt.group === group) slot(codesAt.call).addCodes = codes;
  }
  const calls: PlannedCall[] = [...byLabel.values()].map((s) => ({
    label: s.call.label,
    fields: s.call.fields,
    ...(s.code !== undefined && { code: s.code }),
    ...(s.values.length > 0 && { values: s.values }),
    ...(s.addCodes !== undefined && { addCodes: s.addCodes }),
  }));
  if (calls.length === 0 && code === undefined && !hasValues && rule.effect.xid !== undefined && vendor === 'nvidia') {
    calls.push({ label: XID_CALL, fields: [], xidOnly: true });
  }
  return calls.length === 0 ? undefined : { fault, calls };
}

/** Per device index, per group: the rules that touch it, in priority order. Devices no rule touches are absent. */
export function buildDevicePlans(vendor: Vendor, devices: readonly DeviceIdentity[], faults: readonly ActiveFault[]): Map<number, DevicePlan> {
  const plans = new Map<number, DevicePlan>();
  const groups = Object.keys(CALL_TABLE[vendor]) as ProbeGroup[];
  for (const device of devices) {
    const mine = faults.filter((f) => !f.rule.init && targets(f.rule, device));
    if (mine.length === 0) continue;
    const plan: Record<string, PlanEntry[]> = {};
    for (const group of groups) {
      const entries = mine.map((f) => entryFor(f, vendor, group)).filter((e) => e !== undefined);
      if (entries.length > 0) plan[group] = entries;
    }
    if (Object.keys(plan).length > 0) plans.set(device.index, plan);
  }
  return plans;
}

/** Sets one overridden field: NVLink entries merge by link number, anything else replaces. */
export function setField(values: DeviceSample, field: SampleField, value: unknown): void {
  if (field !== 'nvlinks') {
    (values as Record<string, unknown>)[field] = value;
    return;
  }
  const links = new Map((values.nvlinks ?? []).map((l) => [l.link, l]));
  for (const o of value as { link: number; active?: boolean }[]) links.set(o.link, { active: true, ...links.get(o.link), ...o });
  values.nvlinks = [...links.values()].sort((a, b) => a.link - b.link);
}
