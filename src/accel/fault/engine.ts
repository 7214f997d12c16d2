/**
 * The fault rule store and trigger evaluation shared by every decorated backend: bounded, TTL on an
 * injectable clock, per-rule call counts and seeded PRNG (a run with the same rules and calls rolls
 * the same), a bounded trace of every evaluation, and the counters behind
 * `brixlet_fault_rules_active` and `brixlet_fault_injections_total{rule,api}`.
 */
import { BrixletError } from '../../common/errors.js';
import { seededRandom } from '../../common/seeded-random.js';
import type { Logger } from '../../common/logger.js';
import type { Vendor } from '../types.js';
import { type FaultRule, parseFaultRule } from './rule.js';

export const DEFAULT_MAX_RULES = 256;
export const DEFAULT_TRACE_SIZE = 1000;
/** (rule, api) pairs counted; the oldest go first past this, so a long run cannot grow it without bound. */
const MAX_INJECTION_SERIES = 4096;

export type TraceReason = 'applied' | 'sticky' | 'before-window' | 'after-window' | 'after-calls' | 'times-exhausted' | 'probability';

export interface TraceEntry {
  readonly at: number;
  readonly rule: string;
  readonly api: string;
  readonly vendor: Vendor;
  /** Device index; null for an init call. */
  readonly device: number | null;
  /** The rule's matching calls so far, this one included (calls inside its window). */
  readonly call: number;
  /** The PRNG draw in [0, 1) when the rule has a probability. */
  readonly rolled?: number;
  readonly applied: boolean;
  readonly reason: TraceReason;
}

/** A rule with its trigger state; the decorator holds these between engine changes. */
export interface ActiveFault {
  readonly rule: FaultRule;
  calls: number;
  applied: number;
  /** A sticky rule whose trigger has fired: applies from then on. */
  latched: boolean;
  /** `vendor:index` of the devices its XID went to (once each). */
  readonly xidDelivered: Set<string>;
  readonly random: () => number;
}

export interface FaultRuleView extends FaultRule {
  readonly calls: number;
  readonly applied: number;
  readonly latched: boolean;
}

export interface InjectionCount {
  readonly rule: string;
  readonly api: string;
  readonly count: number;
}

export interface FaultEngineOptions {
  readonly now?: () => number;
  readonly maxRules?: number;
  readonly traceSize?: number;
  readonly defaultTtlMs?: number;
  readonly log?: Logger;
}

export class FaultEngine {
  private readonly now: () => number;
  private readonly maxRules: number;
  private readonly traceSize: number;
  private readonly faults = new Map<string, ActiveFault>();
  private readonly ring: TraceEntry[] = [];
  private ringHead = 0;
  private readonly injections = new Map<string, { rule: string; api: string; count: number }>();
  private readonly listeners = new Set<() => void>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  private seq = 0;
  private gen = 0;
  private byVendor?: Readonly<Record<Vendor, readonly ActiveFault[]>>;

  constructor(private readonly opts: FaultEngineOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxRules = opts.maxRules ?? DEFAULT_MAX_RULES;
    this.traceSize = opts.traceSize ?? DEFAULT_TRACE_SIZE;
  }

  /** Bumped on every change of the rule set (add, remove, reset, expiry). */
  get generation(): number {
    return this.gen;
  }

  /** The engine's clock (ms epoch): injected XIDs are stamped with it. */
  time(): number {
    return this.now();
  }

  get size(): number {
    return this.faults.size;
  }

  /** Validates and adds one rule; `replace` swaps a rule with the same id instead of refusing it. */
  add(input: unknown, opts: { readonly replace?: boolean } = {}): FaultRule {
    const [rule] = this.addAll([input], opts);
    return rule!;
  }

  /** All or nothing: every rule is checked (and the limit) before any is added. */
  addAll(inputs: readonly unknown[], opts: { readonly replace?: boolean } = {}): FaultRule[] {
    this.tick();
    const now = this.now();
    const rules: FaultRule[] = [];
    const ids = new Set<string>();
    for (const input of inputs) {
      const rule = parseFaultRule(input, { id: this.freshId(ids), now, ...(this.opts.defaultTtlMs !== undefined && { defaultTtlMs: this.opts.defaultTtlMs }) });
      if (ids.has(rule.id) || (!opts.replace && this.faults.has(rule.id))) throw new BrixletError('BRX_ERR_FAULT_CONFLICT', { id: rule.id });
      ids.add(rule.id);
      rules.push(rule);
    }
    const added = rules.filter((r) => !this.faults.has(r.id)).length;
    if (this.faults.size + added > this.maxRules) throw new BrixletError('BRX_ERR_FAULT_LIMIT', { count: this.faults.size, limit: this.maxRules });
    for (const rule of rules) {
      this.faults.delete(rule.id);
      this.faults.set(rule.id, { rule, calls: 0, applied: 0, latched: false, xidDelivered: new Set(), random: seededRandom(rule.trigger?.seed ?? hash(rule.id)) });
      this.nextExpiry = Math.min(this.nextExpiry, rule.expiresAt);
    }
    if (rules.length > 0) this.changed();
    return rules;
  }

  remove(id: string): FaultRule {
    this.tick();
    const f = this.faults.get(id);
    if (f === undefined) throw new BrixletError('BRX_ERR_FAULT_NOT_FOUND', { kind: 'rule', id });
    this.faults.delete(id);
    this.changed();
    return f.rule;
  }

  /** Removes every rule; answers how many there were. The trace and injection counters stay. */
  reset(): number {
    const n = this.faults.size;
    this.faults.clear();
    this.nextExpiry = Number.POSITIVE_INFINITY;
    this.changed();
    return n;
  }

  get(id: string): FaultRuleView | undefined {
    this.tick();
    const f = this.faults.get(id);
    return f === undefined ? undefined : view(f);
  }

  /** Rules in priority order (first added first) with their trigger state. */
  list(): FaultRuleView[] {
    this.tick();
    return [...this.faults.values()].map(view);
  }

  /** The live rules of a vendor, in priority order; the same array until the next change. */
  faultsFor(vendor: Vendor): readonly ActiveFault[] {
    this.byVendor ??= {
      nvidia: [...this.faults.values()].filter((f) => f.rule.vendors.includes('nvidia')),
      ascend: [...this.faults.values()].filter((f) => f.rule.vendors.includes('ascend')),
    };
    return this.byVendor[vendor];
  }

  /** Drops expired rules. Cheap (one clock read) when none is due: the decorator calls it per read. */
  tick(): void {
    if (this.nextExpiry === Number.POSITIVE_INFINITY) return;
    const now = this.now();
    if (now < this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, f] of this.faults) {
      if (f.rule.expiresAt <= now) this.faults.delete(id);
      else next = Math.min(next, f.rule.expiresAt);
    }
    this.nextExpiry = next;
    this.changed();
  }

  /** Subscribes to rule-set changes (the rule file writer, the init state); returns the unsubscriber. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** One matching call of `f`: decides whether it applies, counts and traces it. */
  evaluate(f: ActiveFault, api: string, vendor: Vendor, device: number | null): boolean {
    const now = this.now();
    const { window: w, trigger: t } = f.rule;
    let reason: TraceReason;
    let rolled: number | undefined;
    if (f.latched) {
      f.calls++;
      reason = 'sticky';
    } else if (w !== undefined && now < w.start) {
      reason = 'before-window';
    } else if (w?.end !== undefined && now >= w.end) {
      reason = 'after-window';
    } else {
      f.calls++;
      if (t?.afterCalls !== undefined && f.calls <= t.afterCalls) reason = 'after-calls';
      else if (t?.times !== undefined && f.applied >= t.times) reason = 'times-exhausted';
      else if (t?.probability !== undefined && (rolled = f.random()) >= t.probability) reason = 'probability';
      else reason = 'applied';
    }
    const applied = reason === 'applied' || reason === 'sticky';
    if (applied) {
      f.applied++;
      if (f.rule.sticky) f.latched = true;
      this.countInjection(f.rule.id, api);
    }
    this.record({ at: now, rule: f.rule.id, api, vendor, device, call: f.calls, ...(rolled !== undefined && { rolled }), applied, reason });
    return applied;
  }

  /** The last `limit` evaluations, oldest first. */
  trace(limit = this.traceSize): TraceEntry[] {
    const ordered = this.ring.length < this.traceSize ? this.ring : [...this.ring.slice(this.ringHead), ...this.ring.slice(0, this.ringHead)];
    return ordered.slice(Math.max(0, ordered.length - limit));
  }

  /** `brixlet_fault_injections_total{rule,api}` values. */
  injectionCounts(): InjectionCount[] {
    return [...this.injections.values()].map((c) => ({ ...c }));
  }

  private countInjection(rule: string, api: string): void {
    const key = `${rule}\u0000${api}`;
    const c = this.injections.get(key);
    if (c !== undefined) {
      c.count++;
      return;
    }
    if (this.injections.size >= MAX_INJECTION_SERIES) this.injections.delete(this.injections.keys().next().value!);
    this.injections.set(key, { rule, api, count: 1 });
  }

  private record(entry: TraceEntry): void {
    if (this.ring.length < this.traceSize) {
      this.ring.push(entry);
      return;
    }
    this.ring[this.ringHead] = entry;
    this.ringHead = (this.ringHead + 1) % this.traceSize;
  }

  private freshId(taken: ReadonlySet<string>): string {
    let id: string;
    do id = `f${++this.seq}`;
    while (this.faults.has(id) || taken.has(id));
    return id;
  }

  private changed(): void {
    this.gen++;
    this.byVendor = undefined;
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch (err) {
        this.opts.log?.warn({ err }, 'fault rule change listener failed');
      }
    }
  }
}

function view(f: ActiveFault): FaultRuleView {
  return { ...f.rule, calls: f.calls, applied: f.applied, latched: f.latched };
}

/** FNV-1a: a stable default seed from the rule id, so an unseeded rule still rolls reproducibly. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
