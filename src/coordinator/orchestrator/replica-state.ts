/**
 * What the reconciler keeps on the backend objects themselves, so a new leader picks it up: the
 * restarts spent and when the budget window began (ANNOTATION_RESTARTS, `COUNT,WINDOW_START`), and
 * the nodes the object was rendered to avoid (ANNOTATION_AVOID_NODES), which the hand-edit check
 * renders again to compare. Plus that comparison: an object still matches its template when every
 * field the template sets has the template's value; fields the API server or an operator's
 * defaulting added are not edits.
 */
import { ANNOTATION_RESTARTS } from './types.js';

/** Comma-separated node names a replica was rendered to avoid (node affinity NotIn). */
export const ANNOTATION_AVOID_NODES = 'brixlet.io/avoid-nodes';

export interface RestartState {
  readonly restarts: number;
  /** When the current budget window began (ms). */
  readonly windowStartMs?: number;
}

export function parseRestarts(annotations: Readonly<Record<string, string>> | undefined): RestartState {
  const raw = annotations?.[ANNOTATION_RESTARTS];
  if (raw === undefined) return { restarts: 0 };
  const [count, since] = raw.split(',', 2);
  const restarts = Number(count);
  const windowStartMs = since === undefined ? NaN : Date.parse(since);
  return {
    restarts: Number.isSafeInteger(restarts) && restarts >= 0 ? restarts : 0,
    ...(Number.isFinite(windowStartMs) && { windowStartMs }),
  };
}

export function formatRestarts(s: RestartState): string {
  return s.windowStartMs === undefined ? String(s.restarts) : `${s.restarts},${new Date(s.windowStartMs).toISOString()}`;
}

/** The state after one more repair at `nowMs`: a window that ended starts over. */
export function nextRestart(s: RestartState, windowSeconds: number, nowMs: number): RestartState {
  const open = s.windowStartMs !== undefined && nowMs < s.windowStartMs + windowSeconds * 1000;
  return open ? { restarts: s.restarts + 1, windowStartMs: s.windowStartMs } : { restarts: 1, windowStartMs: nowMs };
}

export function parseAvoidNodes(annotations: Readonly<Record<string, string>> | undefined): string[] {
  const raw = annotations?.[ANNOTATION_AVOID_NODES] ?? '';
  return raw.split(',').filter((n) => n !== '');
}

export function formatAvoidNodes(nodes: readonly string[]): string {
  return [...new Set(nodes)].sort().join(',');
}

/**
 * Whether `actual` has every value `template` sets (objects: recursively, extra keys allowed;
 * arrays: same length, element by element; scalars: equal). Returns the first differing path, or
 * undefined when it matches.
 */
export function templateDrift(template: unknown, actual: unknown, path = ''): string | undefined {
  if (Array.isArray(template)) {
    if (!Array.isArray(actual) || actual.length !== template.length) return path || '/';
    for (let i = 0; i < template.length; i++) {
      const d = templateDrift(template[i], actual[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (template !== null && typeof template === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return path || '/';
    for (const [k, v] of Object.entries(template as Record<string, unknown>)) {
      if (v === undefined) continue;
      const d = templateDrift(v, (actual as Record<string, unknown>)[k], `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return template === actual ? undefined : path || '/';
}
