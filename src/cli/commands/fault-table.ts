/** The human forms of `brixlet fault` answers: aligned tables and one-line summaries. */
import type { Static } from '@sinclair/typebox';
import type { FaultRuleView, PresetView, TraceEntryView } from '../../agent/fault-schemas.js';
import type { Style } from '../style.js';

type Rule = Static<typeof FaultRuleView>;

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], st: Style): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [st.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

export function describeTarget(r: Pick<Rule, 'target' | 'vendors' | 'init'>): string {
  const v = r.target.vendor ?? r.vendors.join('+');
  if (r.init) return `${v} library`;
  const { device, uuid } = r.target;
  const kind = r.vendors.length === 1 && r.vendors[0] === 'ascend' ? 'npu' : 'gpu';
  if (uuid !== undefined) return `${v} ${uuid}`;
  return device === undefined || device === '*' ? `${v} all` : `${kind}${device}`;
}

export function describeWhat(r: Pick<Rule, 'what'>): string {
  return r.what.api ?? (r.what.class !== undefined ? `class ${r.what.class}` : 'every call');
}

export function describeEffect(r: Pick<Rule, 'effect'>): string {
  const e = r.effect;
  const parts: string[] = [];
  if (e.return !== undefined) parts.push(`return ${e.return}`);
  if (e.xid !== undefined) parts.push(`XID ${e.xid}`);
  if (e.npuHealth !== undefined) parts.push(`health ${e.npuHealth}`);
  if (e.faultCodes !== undefined) parts.push(`codes ${e.faultCodes.map((c) => `0x${Number(c).toString(16).toUpperCase()}`).join(',')}`);
  if (e.values !== undefined) parts.push(Object.entries(e.values).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' '));
  return parts.join(', ') || '-';
}

function describeTrigger(r: Rule): string {
  const t = r.trigger ?? {};
  const parts = [
    ...(t.afterCalls !== undefined ? [`after ${t.afterCalls}`] : []),
    ...(t.probability !== undefined ? [`p=${t.probability}`] : []),
    ...(t.times !== undefined ? [`×${t.times}`] : []),
    ...(r.window !== undefined ? [`window`] : []),
    ...(r.sticky ? ['sticky'] : []),
  ];
  return parts.join(' ') || 'always';
}

/** "9m58s", "42s", "expired". */
export function remaining(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function renderRules(rules: readonly Rule[], st: Style, now = Date.now()): string {
  if (rules.length === 0) return 'no fault rules\n';
  return table(
    ['ID', 'TARGET', 'WHAT', 'EFFECT', 'TRIGGER', 'APPLIED', 'EXPIRES'],
    rules.map((r) => [r.id, describeTarget(r), describeWhat(r), describeEffect(r), describeTrigger(r), `${r.applied}/${r.calls}`, remaining(r.expiresAt - now)]),
    st,
  );
}

export function renderRuleAdded(r: Rule, now = Date.now()): string {
  return `added ${r.id}: ${describeTarget(r)}, ${describeWhat(r)} → ${describeEffect(r)} (expires in ${remaining(r.expiresAt - now)})\n`;
}

export function renderPresets(presets: readonly Static<typeof PresetView>[], st: Style): string {
  return table(['PRESET', 'VENDOR', 'SCOPE', 'DESCRIPTION'], presets.map((p) => [p.name, p.vendor, p.scope, p.description]), st);
}

export function renderTrace(entries: readonly Static<typeof TraceEntryView>[], st: Style): string {
  if (entries.length === 0) return 'no evaluations traced\n';
  return table(
    ['TIME', 'RULE', 'API', 'DEVICE', 'CALL', 'ROLLED', 'RESULT'],
    entries.map((e) => [
      new Date(e.at).toISOString().slice(11, 23),
      e.rule,
      e.api,
      e.device === null ? '-' : `${e.vendor === 'ascend' ? 'npu' : 'gpu'}${e.device}`,
      String(e.call),
      e.rolled === undefined ? '-' : e.rolled.toFixed(3),
      e.applied ? st.red(e.reason) : e.reason,
    ]),
    st,
  );
}
