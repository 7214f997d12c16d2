/**
 * The agent's reports to the coordinator (`--coordinator`): PUT /v1/nodes/:name with the host
 * inventory, every accelerator's health and the KV shard summary. Sent at start, as soon as
 * something that matters changes (a device's health, KV use moving by 1 % of capacity, the hit
 * ratio by 0.01 — never per write) but at most once a second, and every heartbeat otherwise. The
 * coordinator being away never stops the agent: a failure is logged once, retried with backoff
 * capped at the heartbeat, and "reporting again" is logged when it answers.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { AccelSnapshot } from '../accel/types.js';
import { BrixletError } from '../common/errors.js';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import type { AcceleratorReport, HostInventory, KvReport, NodeReport } from '../common/node-report.js';
import type { KvSummary } from '../kvcache/types.js';

/** The accelerators component's sampler, as far as the reporter reads it. */
export interface ReportAccelSource {
  readonly snapshot: AccelSnapshot | undefined;
  onSnapshot(fn: (s: AccelSnapshot) => void): () => void;
}

export interface ReportKvSource {
  summary(): KvSummary;
}

export interface ReporterOptions {
  /** The coordinator's control URL, e.g. http://brixlet-coordinator:8081 */
  readonly coordinator: string;
  /** Bearer token for the control API: this node's token (agent.coordinatorTokenFile). */
  readonly token?: string;
  /** Read before every report instead of `token` (a ServiceAccount token the kubelet rotates). */
  readonly tokenSource?: () => Promise<string>;
  readonly nodeName: string;
  /** Where the coordinator reaches this agent. */
  readonly agentUrl: string;
  readonly version: string;
  readonly components: readonly string[];
  readonly heartbeatMs: number;
  readonly accel?: ReportAccelSource;
  readonly kv?: ReportKvSource;
  /** host:port of this agent's KV peer listener, reported with the KV summary (read each report). */
  readonly peerAddress?: () => string | undefined;
  /** Called with the ringVersion of every accepted report's reply (ring-follower.ts). */
  readonly onRingVersion?: (version: number) => void;
  readonly inventory?: () => Promise<HostInventory>;
  readonly log: Logger;
  /** Whole request, connect to body (default 5 s). */
  readonly timeoutMs?: number;
  /** Least time between two reports caused by changes (default 1 s); also how often KV use is looked at. */
  readonly minIntervalMs?: number;
}

export interface ReporterStats {
  /** Reports the coordinator accepted. */
  readonly sent: number;
  /** Attempts that failed (no answer, or not 200). */
  readonly failed: number;
  /** seq of the last report built. */
  readonly seq: number;
  /** Why the last attempt failed; undefined once one succeeds. */
  readonly lastError?: string;
}

export interface Reporter extends Disposable {
  readonly bootId: string;
  /** Begins reporting (the first report goes out at once). */
  start(): void;
  /** Sends a report now, ahead of any schedule; resolves true when the coordinator took it. */
  reportNow(): Promise<boolean>;
  stats(): ReporterStats;
}

/** The parts of a report whose change is worth a report of its own. */
export interface ReportState {
  /** Device identity and health, one string (changes rarely; compared whole). */
  readonly devices: string;
  readonly kv?: { readonly capacityBytes: number; readonly usedBytes: number; readonly entries: number; readonly maxEntries: number; readonly hitRatio: number | null };
}

/** Per-device caps keep a report of 256 GPUs far below the control API's 1 MiB body limit. */
const MAX_DEVICES = 256;
const MAX_REASONS = 4;
const MAX_REASON_CHARS = 200;
const clip = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max));

export function acceleratorReports(snapshot: AccelSnapshot | undefined): AcceleratorReport[] | undefined {
  if (snapshot === undefined) return undefined;
  return snapshot.devices.slice(0, MAX_DEVICES).map((d) => ({
    vendor: d.identity.vendor,
    index: d.identity.index,
    uuid: clip(d.identity.uuid, 128),
    name: clip(d.identity.name, 128),
    health: d.health.state,
    reasons: d.health.reasons.slice(0, MAX_REASONS).map((r) => clip(r, MAX_REASON_CHARS)),
    ...(d.sample.memoryTotalBytes !== undefined && { memoryBytes: d.sample.memoryTotalBytes }),
  }));
}

export function kvReport(s: KvSummary, peerAddress?: string): KvReport {
  const peer = peerAddress === undefined || peerAddress === '' || peerAddress.length > 512 ? undefined : peerAddress;
  return { capacityBytes: s.capacityBytes, usedBytes: s.usedBytes, entries: s.entries, hitRatio: s.hitRatio, policy: clip(s.policy, 32), socket: clip(s.socket, 4096), ...(peer !== undefined && { peerAddress: peer }) };
}

export function reportState(accelerators: readonly AcceleratorReport[] | undefined, kv: KvSummary | undefined): ReportState {
  const devices = JSON.stringify((accelerators ?? []).map((a) => [a.vendor, a.index, a.uuid, a.health, a.reasons]));
  if (kv === undefined) return { devices };
  return { devices, kv: { capacityBytes: kv.capacityBytes, usedBytes: kv.usedBytes, entries: kv.entries, maxEntries: kv.maxEntries, hitRatio: kv.hitRatio } };
}

/**
 * Whether `next` differs from what was last sent enough to report before the heartbeat: any device
 * health or identity change; KV bytes or entries moved by 1 % of their capacity; hit ratio by 0.01.
 * Counters alone (lookups, a write that barely moves use) are not news.
 */
export function stateChanged(sent: ReportState, next: ReportState): boolean {
  if (sent.devices !== next.devices) return true;
  const a = sent.kv;
  const b = next.kv;
  if (a === undefined || b === undefined) return a !== b;
  if (a.capacityBytes !== b.capacityBytes) return true;
  if (Math.abs(a.usedBytes - b.usedBytes) >= 0.01 * b.capacityBytes) return true;
  if (Math.abs(a.entries - b.entries) >= Math.max(1, 0.01 * b.maxEntries)) return true;
  if ((a.hitRatio === null) !== (b.hitRatio === null)) return true;
  return a.hitRatio !== null && b.hitRatio !== null && Math.abs(a.hitRatio - b.hitRatio) >= 0.01;
}

type FailureKind = 'unauthorized' | 'rejected' | 'unreachable';

export function createReporter(opts: ReporterOptions): Reporter {
  const log = opts.log.child({ component: 'reporter' });
  const url = `${opts.coordinator.replace(/\/+$/, '')}/v1/nodes/${encodeURIComponent(opts.nodeName)}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const minInterval = opts.minIntervalMs ?? 1000;
  // The coordinator may judge this node by a shorter heartbeat (--control.max-heartbeat): then
  // this agent reports that often, or the node would go stale between reports.
  let heartbeat = opts.heartbeatMs;
  const bootId = randomUUID();
  const dispatcher = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: Math.min(60_000, Math.max(heartbeat * 2, 4000)) });
  const abort = new AbortController();

  let seq = 0;
  let sent = 0;
  let failed = 0;
  let lastError: string | undefined;
  let started = false;
  let disposed = false;
  let inFlight: Promise<boolean> | undefined;
  let lastAttemptAt = -Infinity;
  let lastSentState: ReportState | undefined;
  let failures = 0;
  let failureKind: FailureKind | undefined;
  let retryAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let offSnapshot: (() => void) | undefined;

  function build(host: HostInventory | undefined): { report: NodeReport; state: ReportState } {
    const accelerators = acceleratorReports(opts.accel?.snapshot);
    const kv = opts.kv?.summary();
    const report: NodeReport = {
      name: opts.nodeName,
      agentUrl: opts.agentUrl,
      version: clip(opts.version, 64),
      components: opts.components.slice(0, 32).map((c) => clip(c, 64)),
      seq: ++seq,
      bootId,
      heartbeatMs: Math.min(3_600_000, Math.max(100, Math.round(heartbeat))),
      ...(host !== undefined && { host }),
      ...(accelerators !== undefined && { accelerators }),
      ...(kv !== undefined && { kv: kvReport(kv, opts.peerAddress?.()) }),
    };
    return { report, state: reportState(accelerators, kv) };
  }

  /** When the next report is due: the retry while failing, else the heartbeat, sooner after a change. */
  function dueAt(): number {
    if (failures > 0) return retryAt;
    const beat = lastAttemptAt + heartbeat;
    if (lastSentState === undefined) return lastAttemptAt + minInterval;
    const next = reportState(acceleratorReports(opts.accel?.snapshot), opts.kv?.summary());
    return stateChanged(lastSentState, next) ? Math.min(beat, lastAttemptAt + minInterval) : beat;
  }

  function plan(): void {
    clearTimeout(timer);
    timer = undefined;
    if (!started || disposed || inFlight !== undefined) return;
    const now = Date.now();
    const due = dueAt();
    if (due <= now) {
      void send();
      return;
    }
    // KV use has no change event: look again every minInterval while a shard is there.
    const wake = opts.kv !== undefined ? Math.min(due, now + minInterval) : due;
    timer = setTimeout(plan, wake - now);
    timer.unref();
  }

  async function send(): Promise<boolean> {
    const attempt = (async (): Promise<boolean> => {
      // Bounded: a hung inventory read must not stop reports (the node would go stale) or dispose().
      const host = opts.inventory === undefined ? undefined : await withDeadline(opts.inventory(), timeoutMs, abort.signal);
      if (disposed) return false;
      const { report, state } = build(host);
      try {
        const token = opts.tokenSource === undefined ? opts.token : await opts.tokenSource();
        const headers = { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) };
        const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]);
        const res = await request(url, { method: 'PUT', headers, body: JSON.stringify(report), dispatcher, signal });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          const reply = parseReply(text);
          adoptHeartbeat(reply.heartbeatMs);
          if (typeof reply.ringVersion === 'number' && Number.isSafeInteger(reply.ringVersion)) opts.onRingVersion?.(reply.ringVersion);
          succeeded(state);
          return true;
        }
        // 4xx: this agent's report or token is wrong (an error to fix); 5xx: the coordinator's trouble.
        const kind = res.statusCode === 401 || res.statusCode === 403 ? 'unauthorized' : res.statusCode < 500 ? 'rejected' : 'unreachable';
        failedWith(kind, `HTTP ${res.statusCode}: ${errorMessage(text)}`);
      } catch (err) {
        if (disposed) return false;
        // A token file that cannot be read is this agent's problem, not the coordinator's.
        failedWith((err as { code?: string }).code === 'BRX_ERR_REGISTRY_TOKEN' ? 'rejected' : 'unreachable', (err as Error).message || String(err));
      }
      return false;
    })();
    inFlight = attempt;
    try {
      return await attempt;
    } finally {
      inFlight = undefined;
      plan();
    }
  }

  function adoptHeartbeat(judged: unknown): void {
    if (typeof judged !== 'number' || !Number.isInteger(judged) || judged < 100 || judged >= heartbeat) return;
    log.info({ url, heartbeatMs: judged, configuredMs: heartbeat }, 'the coordinator judges this node by a shorter heartbeat (--control.max-heartbeat): reporting that often');
    heartbeat = judged;
  }

  function succeeded(state: ReportState): void {
    sent += 1;
    lastAttemptAt = Date.now();
    lastSentState = state;
    if (failures > 0) log.info({ url, failedAttempts: failures }, 'reporting to the coordinator again');
    failures = 0;
    failureKind = undefined;
    lastError = undefined;
    log.debug({ url, seq }, 'reported to the coordinator');
  }

  function failedWith(kind: FailureKind, reason: string): void {
    failed += 1;
    failures += 1;
    lastError = reason;
    lastAttemptAt = Date.now();
    const delay = Math.min(heartbeat, minInterval * 2 ** Math.min(failures - 1, 16));
    retryAt = lastAttemptAt + delay;
    // Said once per kind of failure, then quiet until it recovers: a coordinator that is down for an
    // hour must not fill the agent's log.
    const news = kind !== failureKind;
    failureKind = kind;
    if (!news) {
      log.debug({ url, reason, retryMs: delay }, 'reporting to the coordinator failed again');
      return;
    }
    if (kind === 'unauthorized') {
      const err = new BrixletError('BRX_ERR_REGISTRY_UNAUTHORIZED');
      log.error(
        { code: err.code, url, reason },
        `the coordinator refused this agent's credentials (${reason}); give --agent.coordinator-token-file this node's token, derived from the coordinator's --control.token-file (brixlet token node ${opts.nodeName} --secret-file SECRET), or use --agent.coordinator-auth kubernetes`,
      );
      return;
    }
    const err = new BrixletError('BRX_ERR_REGISTRY_REPORT', { url, reason });
    const fields = { code: err.code, retryMs: delay, heartbeatMs: heartbeat };
    if (kind === 'rejected') log.error(fields, `${err.message} (the agent keeps working and retries)`);
    else log.warn(fields, `${err.message} (the agent keeps working and retries)`);
  }

  return {
    name: 'coordinator reporter',
    bootId,
    start() {
      if (started || disposed) return;
      started = true;
      offSnapshot = opts.accel?.onSnapshot(() => plan());
      plan();
    },
    async reportNow() {
      if (disposed) return false;
      while (inFlight !== undefined) await inFlight;
      return send();
    },
    stats: () => ({ sent, failed, seq, ...(lastError !== undefined && { lastError }) }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      clearTimeout(timer);
      offSnapshot?.();
      abort.abort();
      await inFlight?.catch(() => undefined);
      await dispatcher.close();
    },
  };
}

/** The fields of a report reply the agent acts on (anything unparsable: none). */
function parseReply(text: string): { heartbeatMs?: unknown; ringVersion?: unknown } {
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? (body as { heartbeatMs?: unknown; ringVersion?: unknown }) : {};
  } catch {
    return {};
  }
}

/** The `error.message` of a brixlet or OpenAI-style error body, else the start of the text. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // not JSON: quote it
  }
  return clip(text.trim(), 200) || 'no body';
}

/** `p`'s value, or undefined when it fails, takes longer than `ms`, or `signal` aborts first. */
function withDeadline<T>(p: Promise<T>, ms: number, signal: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve) => {
    const done = (v: T | undefined): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const onAbort = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(done, () => done(undefined));
  });
}
