/**
 * Compiles the active rules to the interposer's rule file (the fault contract of issue 4): the
 * return-code and XID effects of NVML/DCMI rules, by exported function name, in rule priority
 * order. What the interposer cannot express — per-call triggers, a call variant such as
 * `nvmlDeviceGetClockInfo(SM)`, a device it cannot name — is listed in `skipped` with why, and
 * stays applied in-process by the decorator.
 *
 * Every entry carries an absolute wall-clock expiry (`expiresAtMs`, file version 2): the earliest of
 * the rule's TTL, its window's end and the writer's lease (`leaseUntil`), which the running agent keeps
 * pushing forward. The interposer checks it on every call, so faults end on their own when the agent
 * is killed and never rewrites or removes the file.
 */
import type { Vendor } from '../types.js';
import { INIT_FNS } from './call-table.js';
import { selectedCalls } from './fault-plan.js';
import type { FaultRule } from './rule.js';

export interface NvmlReturnEntry {
  readonly id: string;
  readonly fn: string;
  readonly device: number;
  readonly code: number;
  /** Unix epoch ms after which the interposer ignores the entry. */
  readonly expiresAtMs: number;
}
export interface DcmiReturnEntry {
  readonly id: string;
  readonly fn: string;
  readonly card: number;
  readonly device: number;
  readonly code: number;
  readonly expiresAtMs: number;
}
export interface XidEntry {
  readonly id: string;
  readonly device: number;
  readonly xid: number;
  readonly expiresAtMs: number;
}

export interface RuleFile {
  /** 2: every entry has `expiresAtMs` (an interposer treats a version-2 entry without it as expired). */
  readonly version: 2;
  readonly generation: number;
  readonly nvml: { readonly returns: NvmlReturnEntry[]; readonly xids: XidEntry[] };
  readonly dcmi: { readonly returns: DcmiReturnEntry[] };
}

export interface RuleFileContext {
  /** Wall clock, unix epoch ms (the same clock as the rules' createdAt/expiresAt). */
  readonly now: number;
  /** The writer's lease: no entry outlives it unless rewritten (the agent renews it while it runs). */
  readonly leaseUntil?: number;
  readonly generation: number;
  /** NVML indexes of the node's GPUs: an XID for `device: '*'` goes to each. */
  readonly nvidiaDevices?: readonly number[];
  /** Device index of a UUID (the interposer only knows indexes). */
  readonly indexOfUuid?: (vendor: Vendor, uuid: string) => number | undefined;
  /** DCMI (card, device) of an Ascend logic id. */
  readonly ascendAddress?: (logicId: number) => { readonly card: number; readonly device: number } | undefined;
}

export interface CompiledRuleFile {
  readonly file: RuleFile;
  readonly skipped: { readonly id: string; readonly reason: string }[];
  /** When a window opens or closes (or a rule expires): compile again then. */
  readonly nextChangeAt?: number;
}

/** The rule file for `rules` (engine.list() order = priority). */
export function compileRuleFile(rules: readonly FaultRule[], ctx: RuleFileContext): CompiledRuleFile {
  const file: RuleFile = { version: 2, generation: ctx.generation, nvml: { returns: [], xids: [] }, dcmi: { returns: [] } };
  const skipped: { id: string; reason: string }[] = [];
  let next = Number.POSITIVE_INFINITY;
  for (const rule of rules) {
    const { id } = rule;
    next = Math.min(next, rule.expiresAt);
    const hasCode = rule.codes.nvidia !== undefined || rule.codes.ascend !== undefined;
    const xid = rule.vendors.includes('nvidia') ? rule.effect.xid : undefined;
    if (!hasCode && xid === undefined) {
      skipped.push({ id, reason: 'no return-code or XID effect: value overrides apply in-process only' });
      continue;
    }
    const t = rule.trigger;
    const perCall = (['afterCalls', 'probability', 'times'] as const).filter((k) => t?.[k] !== undefined);
    if (perCall.length > 0) {
      skipped.push({ id, reason: `trigger ${perCall.join(', ')} is evaluated in-process only (the interposer has no per-call triggers)` });
      continue;
    }
    const w = rule.window;
    if (w !== undefined && ctx.now < w.start) {
      next = Math.min(next, w.start);
      skipped.push({ id, reason: 'its window has not opened yet' });
      continue;
    }
    if (w?.end !== undefined) {
      if (ctx.now >= w.end) {
        skipped.push({ id, reason: 'its window has closed' });
        continue;
      }
      next = Math.min(next, w.end);
    }
    const expiresAtMs = Math.min(rule.expiresAt, w?.end ?? Number.POSITIVE_INFINITY, ctx.leaseUntil ?? Number.POSITIVE_INFINITY);
    const problems: string[] = [];
    for (const vendor of rule.vendors) {
      const code = rule.codes[vendor];
      if (code === undefined) continue;
      const fns = functionsOf(rule, vendor);
      if (typeof fns === 'string') {
        problems.push(fns);
        continue;
      }
      const device = rule.init ? -1 : deviceOf(rule, vendor, ctx);
      if (device === undefined) {
        problems.push(`the interposer cannot address ${describeTarget(rule)} on ${vendor}`);
        continue;
      }
      if (vendor === 'nvidia') {
        for (const fn of fns) file.nvml.returns.push({ id, fn, device, code, expiresAtMs });
        continue;
      }
      const address = device === -1 ? { card: -1, device: -1 } : ctx.ascendAddress?.(device);
      if (address === undefined) problems.push(`no DCMI card/device known for NPU ${device}`);
      else for (const fn of fns) file.dcmi.returns.push({ id, fn, card: address.card, device: address.device, code, expiresAtMs });
    }
    if (xid !== undefined) {
      const device = deviceOf(rule, 'nvidia', ctx);
      if (device === undefined) problems.push(`the interposer cannot address ${describeTarget(rule)} for its XID`);
      else if (device !== -1) file.nvml.xids.push({ id: `${id}#xid`, device, xid, expiresAtMs });
      else if (ctx.nvidiaDevices === undefined) problems.push('an XID for every GPU needs the GPU list');
      else for (const d of ctx.nvidiaDevices) file.nvml.xids.push({ id: `${id}#xid.${d}`, device: d, xid, expiresAtMs });
    }
    if (problems.length > 0) skipped.push({ id, reason: problems.join('; ') });
  }
  return { file, skipped, ...(next !== Number.POSITIVE_INFINITY && { nextChangeAt: next }) };
}

/** Exported function names the rule fails, or why it cannot be said by name. */
function functionsOf(rule: FaultRule, vendor: Vendor): string[] | string {
  if (rule.init) return [...INIT_FNS[vendor]];
  const api = rule.what.api;
  if (api === '*' || rule.what.class === 'lost') return ['*'];
  if (api !== undefined) return api.includes('(') ? `${api} names one variant of a call: the interposer fails whole functions` : [api];
  return [...new Set(selectedCalls(rule, vendor).flatMap((c) => c.fns))];
}

/** -1 for every device; undefined when the target cannot be expressed as an index. */
function deviceOf(rule: FaultRule, vendor: Vendor, ctx: RuleFileContext): number | undefined {
  const { device, uuid } = rule.target;
  if (uuid !== undefined) {
    const index = ctx.indexOfUuid?.(vendor, uuid);
    if (index === undefined || (typeof device === 'number' && device !== index)) return undefined;
    return index;
  }
  return device === undefined || device === '*' ? -1 : device;
}

function describeTarget(rule: FaultRule): string {
  return rule.target.uuid !== undefined ? `uuid ${rule.target.uuid}` : `device ${String(rule.target.device)}`;
}
