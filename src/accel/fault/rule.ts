/**
 * Checks a fault rule and normalises it: vendors inferred from what the rule names (an nvml*
 * function, an XID, a negative DCMI code …), return codes resolved per vendor, fault codes as
 * unsigned numbers, TTL and window as absolute times. Every problem is explained, not just flagged.
 */
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../../common/errors.js';
import { suggestMany } from '../../common/suggest.js';
import type { Vendor } from '../types.js';
import { CALL_TABLE, FIELD_PRODUCER, INIT_FNS, type SampleField, XID_CALL } from './call-table.js';
import { resolveReturnCode } from './resolve-return-code.js';
import {
  DEFAULT_TTL_MS,
  type FaultClass,
  type FaultEffect,
  FaultRuleInput,
  type FaultTarget,
  type FaultTrigger,
  type FaultValues,
  type FaultWhat,
} from './rule-schema.js';

export { DEFAULT_TTL_MS, FAULT_CLASSES, FaultRuleInput, MAX_TTL_MS, type FaultClass } from './rule-schema.js';

export interface NormalizedEffect extends Omit<FaultEffect, 'faultCodes'> {
  readonly faultCodes?: readonly number[];
}

export interface FaultRule {
  readonly id: string;
  readonly target: FaultTarget;
  readonly what: FaultWhat;
  readonly effect: NormalizedEffect;
  readonly trigger?: FaultTrigger;
  readonly sticky: boolean;
  readonly ttlMs: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Vendors the rule applies to: target.vendor, else what its api, class and effect imply. */
  readonly vendors: readonly Vendor[];
  /** effect.return as each of those vendors' number. */
  readonly codes: Partial<Record<Vendor, number>>;
  /** Fails the library's initialisation rather than a device's calls. */
  readonly init: boolean;
  /** The trigger window in ms epoch; `end` absent = open-ended. */
  readonly window?: { readonly start: number; readonly end?: number };
}

const BOTH: readonly Vendor[] = ['nvidia', 'ascend'];
const CLASS_VENDOR: Partial<Record<FaultClass, Vendor>> = {
  remap: 'nvidia',
  pcie: 'nvidia',
  nvlink: 'nvidia',
  xid: 'nvidia',
  'npu-health': 'ascend',
  'npu-fault-code': 'ascend',
};

/** Every name a rule's what.api can select per vendor: call labels, their function names, init and XID calls. */
const API_NAMES: Readonly<Record<Vendor, ReadonlySet<string>>> = {
  nvidia: apiNames('nvidia', [XID_CALL]),
  ascend: apiNames('ascend', []),
};

function apiNames(vendor: Vendor, extra: readonly string[]): ReadonlySet<string> {
  const out = new Set<string>([...INIT_FNS[vendor], ...extra]);
  for (const calls of Object.values(CALL_TABLE[vendor])) for (const c of calls) for (const n of [c.label, ...c.fns]) out.add(n);
  return out;
}

/** A name no backend call answers to would be accepted and never fire: refuse it, with the names it was likely meant as. */
function checkApi(id: string | undefined, api: string): void {
  if (api === '*' || api === 'init') return;
  const vendor: Vendor = api.startsWith('dcmi_') ? 'ascend' : 'nvidia';
  const known = API_NAMES[vendor];
  if (known.has(api)) return;
  const hints = suggestMany(api, known);
  const lib = vendor === 'nvidia' ? 'NVML' : 'DCMI';
  throw new BrixletError(
    'BRX_ERR_FAULT_RULE_INVALID',
    {
      reason:
        `${id === undefined ? '' : `${id}: `}what.api ${api} is not a ${lib} call brixlet makes, so the rule would never fire` +
        (hints.length > 0 ? `; did you mean ${hints.join(', ')}?` : `; known ${lib} calls: ${[...known].slice(0, 6).join(', ')}, … (${known.size} in all), or init, *`),
    },
    { details: [{ path: '/what/api', unknown: api, suggestions: hints }] },
  );
}

const invalid = (id: string | undefined, reason: string): BrixletError =>
  new BrixletError('BRX_ERR_FAULT_RULE_INVALID', { reason: id === undefined ? reason : `${id}: ${reason}` });

/** Checks `input` against the schema and the rules between its parts; throws BRX_ERR_FAULT_RULE_INVALID. */
export function parseFaultRule(input: unknown, opts: { readonly id: string; readonly now: number; readonly defaultTtlMs?: number }): FaultRule {
  if (!Value.Check(FaultRuleInput, input)) {
    const problems = [...Value.Errors(FaultRuleInput, input)].slice(0, 10).map((e) => `${e.path || '/'}: ${e.message}`);
    const id = typeof input === 'object' && input !== null && typeof (input as { id?: unknown }).id === 'string' ? (input as { id: string }).id : undefined;
    throw new BrixletError('BRX_ERR_FAULT_RULE_INVALID', { reason: `${id === undefined ? '' : `${id}: `}${problems.join('; ')}` }, { details: problems });
  }
  const id = input.id ?? opts.id;
  const what = input.what ?? {};
  const effect = input.effect;
  const target = input.target ?? {};
  if (what.api !== undefined && what.class !== undefined) throw invalid(id, 'give what.api or what.class, not both');
  if (what.api !== undefined) checkApi(id, what.api);
  const init = what.api === 'init' || what.class === 'init';
  checkEffect(id, what, effect, init, target);

  const vendors = inferVendors(id, target, what, effect);
  const codes: Partial<Record<Vendor, number>> = {};
  if (effect.return !== undefined) {
    for (const v of vendors) {
      const code = resolveReturnCode(v, effect.return);
      if (code === undefined) continue;
      if (code === 0) throw invalid(id, `effect.return ${String(effect.return)} is success: there is nothing to inject`);
      codes[v] = code;
    }
  }
  const faultCodes = effect.faultCodes?.map((c) => (typeof c === 'number' ? c : Number.parseInt(c.slice(2), 16) >>> 0));
  const trigger = input.trigger;
  const ttlMs = input.ttlMs ?? opts.defaultTtlMs ?? DEFAULT_TTL_MS;
  const window = trigger === undefined ? undefined : windowOf(id, trigger, opts.now);
  return {
    id,
    target,
    what,
    effect: normalizeEffect(effect, faultCodes),
    ...(trigger !== undefined && { trigger }),
    sticky: input.sticky ?? false,
    ttlMs,
    createdAt: opts.now,
    expiresAt: opts.now + ttlMs,
    vendors,
    codes,
    init,
    ...(window !== undefined && { window }),
  };
}

function normalizeEffect(effect: FaultEffect, faultCodes: number[] | undefined): NormalizedEffect {
  const { faultCodes: _raw, ...rest } = effect;
  return faultCodes === undefined ? rest : { ...rest, faultCodes };
}

function checkEffect(id: string, what: FaultWhat, effect: FaultEffect, init: boolean, target: FaultTarget): void {
  const { return: ret, values, xid, faultCodes, npuHealth } = effect;
  if (ret === undefined && values === undefined && xid === undefined && faultCodes === undefined && npuHealth === undefined) {
    throw invalid(id, 'effect is empty: give return, values, xid, faultCodes or npuHealth');
  }
  if (values !== undefined && Object.keys(values).length === 0) throw invalid(id, 'effect.values is empty');
  if (init) {
    if (ret === undefined || values !== undefined || xid !== undefined || faultCodes !== undefined || npuHealth !== undefined) {
      throw invalid(id, 'an init rule takes effect.return only (the code initialisation fails with)');
    }
    if ((target.device !== undefined && target.device !== '*') || target.uuid !== undefined) {
      throw invalid(id, 'an init rule fails the whole library: leave target.device and target.uuid out');
    }
    return;
  }
  if (ret !== undefined && what.api === undefined && what.class === undefined) {
    throw invalid(id, 'effect.return needs what.api (a function, or * for every call of the device) or what.class to say which calls fail');
  }
  if (ret !== undefined && what.class === 'xid') throw invalid(id, 'class xid delivers an XID: use effect.xid, not effect.return');
  if (what.class === 'xid' && xid === undefined) throw invalid(id, 'class xid needs effect.xid');
  if (what.class === 'npu-fault-code' && ret === undefined && faultCodes === undefined) throw invalid(id, 'class npu-fault-code needs effect.faultCodes or effect.return');
  if (what.class === 'npu-health' && ret === undefined && npuHealth === undefined && values?.npuHealth === undefined) {
    throw invalid(id, 'class npu-health needs effect.npuHealth or effect.return');
  }
}

/** Vendors the rule can mean; an empty intersection is a contradiction worth explaining. */
function inferVendors(id: string, target: FaultTarget, what: FaultWhat, effect: FaultEffect): Vendor[] {
  let vendors: Vendor[] = target.vendor !== undefined ? [target.vendor] : [...BOTH];
  const narrow = (allowed: readonly Vendor[], because: string): void => {
    const next = vendors.filter((v) => allowed.includes(v));
    if (next.length === 0) throw invalid(id, `${because}, which contradicts ${target.vendor !== undefined ? `target.vendor ${target.vendor}` : 'the rest of the rule'}`);
    vendors = next;
  };
  const api = what.api;
  if (api?.startsWith('nvml')) narrow(['nvidia'], `what.api ${api} is an NVML function (nvidia)`);
  if (api?.startsWith('dcmi_')) narrow(['ascend'], `what.api ${api} is a DCMI function (ascend)`);
  const cls = what.class === undefined ? undefined : CLASS_VENDOR[what.class];
  if (cls !== undefined) narrow([cls], `class ${what.class} exists on ${cls} only`);
  if (effect.xid !== undefined) narrow(['nvidia'], 'effect.xid is an NVIDIA event');
  if (effect.faultCodes !== undefined) narrow(['ascend'], 'effect.faultCodes are Ascend fault codes');
  if (effect.npuHealth !== undefined) narrow(['ascend'], 'effect.npuHealth is an Ascend reading');
  if (typeof effect.return === 'number') {
    narrow(effect.return < 0 ? ['ascend'] : ['nvidia'], `effect.return ${effect.return} is ${effect.return < 0 ? 'a DCMI (ascend)' : 'an nvmlReturn_t (nvidia)'} code`);
  } else if (effect.return !== undefined) {
    const name = effect.return;
    narrow(
      BOTH.filter((v) => resolveReturnCode(v, name) !== undefined),
      `effect.return ${name} is not a return code name of ${vendors.join(' or ')} (e.g. GPU_IS_LOST, DRIVER_NOT_LOADED, NOT_SUPPORTED, INNER_ERR, DEVICE_NOT_EXIST)`,
    );
  }
  if (effect.values !== undefined) {
    for (const field of Object.keys(effect.values) as (keyof FaultValues)[]) {
      narrow(
        BOTH.filter((v) => FIELD_PRODUCER[v].has(field as SampleField)),
        `effect.values.${field} is read on ${BOTH.filter((v) => FIELD_PRODUCER[v].has(field as SampleField)).join(' and ') || 'no vendor'} only`,
      );
    }
  }
  return vendors;
}

function windowOf(id: string, t: FaultTrigger, now: number): FaultRule['window'] {
  if (t.startAt !== undefined && t.startInMs !== undefined) throw invalid(id, 'give trigger.startAt or trigger.startInMs, not both');
  if (t.startAt === undefined && t.startInMs === undefined && t.durationMs === undefined) return undefined;
  const start = t.startAt ?? now + (t.startInMs ?? 0);
  return { start, ...(t.durationMs !== undefined && { end: start + t.durationMs }) };
}
