/**
 * Value formats Chaos Mesh parses from strings (Go durations, tc rates, percents, sizes, cron
 * schedules). The CRD schemas leave most of them as plain strings, so a bad one would only fail
 * in the controller, after the object was accepted; these checks catch them before sending.
 */

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go duration (`1m30s`, `250ms`), or undefined when it is not one. */
export function goDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(DURATION_PART)) ms += Number(n) * (UNIT_MS[unit ?? 's'] ?? 0);
  return ms;
}

/** A percent as Chaos Mesh's netem fields take it: `"25"`, `"0.5"`, at most 100. */
export function isPercentString(text: string): boolean {
  return /^\d+(?:\.\d+)?$/.test(text) && Number(text) <= 100;
}

/** A tc rate (`1mbps`, `100kbit`). */
export function isRate(text: string): boolean {
  return /^\d+(?:\.\d+)?(?:bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$/i.test(text);
}

/** A StressChaos memory size: bytes with an optional unit (`256MB`, `1GiB`) or a percent of the pod's memory (`50%`). */
export function isMemorySize(text: string): boolean {
  const pct = /^(\d{1,3})%$/.exec(text);
  if (pct) return Number(pct[1]) > 0 && Number(pct[1]) <= 100;
  return /^\d+(?:\.\d+)?\s*(?:B|K|M|G|T|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.test(text) && Number.parseFloat(text) > 0;
}

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const CRON_FIELD = /^(?:\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?(?:,(?:\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?)*$/;

/** Why a Schedule's `schedule` is not one Chaos Mesh accepts, or undefined when it is fine. */
export function scheduleProblem(text: string): string | undefined {
  const s = text.trim();
  if (DESCRIPTORS.has(s)) return undefined;
  if (s.startsWith('@every')) {
    const ms = goDurationMs(s.slice('@every'.length).trim());
    return ms !== undefined && ms > 0 ? undefined : `'${text}': @every needs a positive duration, e.g. '@every 10m'`;
  }
  if (s.startsWith('@')) return `'${text}': unknown descriptor; use ${[...DESCRIPTORS].join(', ')} or '@every <duration>'`;
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `'${text}': a cron schedule has 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  const bad = fields.find((f) => !CRON_FIELD.test(f));
  return bad === undefined ? undefined : `'${text}': cron field '${bad}' is not valid`;
}

/** Kubernetes object names: a DNS-1123 subdomain. */
export function isObjectName(text: string): boolean {
  return text.length <= 253 && /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/.test(text);
}

/** Namespaces: a DNS-1123 label. */
export function isNamespaceName(text: string): boolean {
  return text.length <= 63 && /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/.test(text);
}
