/**
 * Label and field selectors as the API server parses them: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x,y)`, `a`, `!a`, comma-separated and all required. Field selectors take dotted paths
 * (`metadata.name=x`) with `=`, `==` and `!=`.
 */
import { ApiStatusError } from './api-status.js';

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

export type ObjectMatcher = (obj: unknown) => boolean;

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts.filter((p) => p.length > 0);
}

function invalid(kind: string, selector: string, why: string): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', `unable to parse requirement: ${kind} selector "${selector}": ${why}`);
}

function parseRequirement(term: string, whole: string): Requirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => l[key] !== undefined && values.has(l[key]) : (l) => l[key] === undefined || !values.has(l[key]);
  }
  const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term);
  if (cmp) {
    const [, key = '', op, value = ''] = cmp;
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const exists = /^(!?)([^\s!=(),]+)$/.exec(term);
  if (exists) {
    const [, not, key = ''] = exists;
    return not ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
  }
  throw invalid('label', whole, `cannot parse "${term}"`);
}

function labelsOf(obj: unknown): Record<string, string> {
  const meta = (obj as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata;
  return meta?.labels ?? {};
}

/** Parses a labelSelector; an empty or missing selector matches everything. */
export function parseLabelSelector(selector: string | null | undefined): ObjectMatcher {
  if (!selector) return () => true;
  const reqs = splitTopLevel(selector).map((t) => parseRequirement(t, selector));
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => r(labels));
  };
}

function fieldValue(obj: unknown, path: string): string | undefined {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur === undefined || cur === null ? undefined : String(cur);
}

/** Parses a fieldSelector over dotted paths; a missing field compares as the empty string. */
export function parseFieldSelector(selector: string | null | undefined): ObjectMatcher {
  if (!selector) return () => true;
  const reqs = splitTopLevel(selector).map((term) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw invalid('field', selector, `cannot parse "${term}"`);
    const [, path = '', op, value = ''] = m;
    return (obj: unknown): boolean => ((fieldValue(obj, path) ?? '') === value) !== (op === '!=');
  });
  return (obj) => reqs.every((r) => r(obj));
}
