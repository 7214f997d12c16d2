/**
 * The coordinator's view of the nodes: one entry per agent, from its reports (inventory,
 * accelerator health, KV shard summary). A node is stale once it has been silent for staleAfter of
 * its heartbeats, judged from an injectable clock; a timer set to the next such deadline emits the
 * change, and the next report brings the node back. Engines live in the engine set, which asks
 * `isRoutable` here. Reports are validated before they are stored: never a half-valid node.
 */
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../../common/errors.js';
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { type AcceleratorReport, NodeReport } from '../../common/node-report.js';
import { routability, type Routability, ROUTABLE, unhealthyAccelerators } from './node-health.js';
import type { NodeView } from './node-schemas.js';

export type { NodeView } from './node-schemas.js';
export type { Routability } from './node-health.js';

export const DEFAULT_HEARTBEAT_MS = 10_000;
export const DEFAULT_STALE_AFTER = 3;
export const DEFAULT_MAX_HEARTBEAT_MS = 60_000;

export interface RegistryOptions {
  /** Heartbeats a node may miss before it is stale (control.staleAfter). */
  readonly staleAfter?: number;
  /** Heartbeat assumed for a report that does not say its own. */
  readonly defaultHeartbeatMs?: number;
  /**
   * Longest heartbeat a node is judged by (control.maxHeartbeat): a report claiming more is stored
   * with this, so no report keeps a node "ready" for longer than staleAfter of these.
   */
  readonly maxHeartbeatMs?: number;
  /** ms epoch; tests pass a fake clock and call sweep() themselves. */
  readonly now?: () => number;
  /** Arm a timer for the next stale deadline (default true). */
  readonly sweepTimer?: boolean;
  readonly log?: Logger;
}

export type NodeEventKind = 'added' | 'updated' | 'stale' | 'recovered' | 'removed';

export interface NodeEvent {
  readonly kind: NodeEventKind;
  /** The node after the change (for `removed`, as it last was). */
  readonly node: NodeView;
}

interface NodeRecord {
  report: NodeReport;
  firstSeen: number;
  lastSeen: number;
  heartbeatMs: number;
  /** The report without seq: two reports differing only in seq are the same news. */
  fingerprint: string;
  unhealthy: readonly AcceleratorReport[];
  /** A `stale` event went out and no report has come since. */
  staleNotified: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class Registry implements Disposable {
  readonly name = 'node registry';
  readonly staleAfter: number;
  readonly defaultHeartbeatMs: number;
  readonly maxHeartbeatMs: number;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly listeners = new Set<(e: NodeEvent) => void>();
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private readonly useTimer: boolean;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private disposed = false;

  constructor(opts: RegistryOptions = {}) {
    this.staleAfter = opts.staleAfter ?? DEFAULT_STALE_AFTER;
    this.maxHeartbeatMs = opts.maxHeartbeatMs ?? DEFAULT_MAX_HEARTBEAT_MS;
    this.defaultHeartbeatMs = Math.min(opts.defaultHeartbeatMs ?? DEFAULT_HEARTBEAT_MS, this.maxHeartbeatMs);
    this.now = opts.now ?? Date.now;
    this.useTimer = opts.sweepTimer ?? true;
    this.log = opts.log;
  }

  /**
   * Adds or refreshes a node from an agent report; returns the node as stored. A report with a seq
   * not above the stored one from the same agent process (bootId) is refused (BRX_ERR_REGISTRY_REPLAY):
   * an agent sends one report at a time, so that is a replay or a second agent under the same name,
   * never news. A new bootId (the agent restarted) starts over.
   */
  upsertNode(input: unknown): NodeView {
    const report = checkReport(input);
    const at = this.now();
    const rec = this.nodes.get(report.name);
    if (rec !== undefined && isOutOfOrder(rec.report, report)) {
      this.log?.debug({ node: report.name, seq: report.seq, stored: rec.report.seq }, 'refused an out-of-order node report');
      throw new BrixletError('BRX_ERR_REGISTRY_REPLAY', { seq: report.seq, bootId: report.bootId, stored: rec.report.seq });
    }
    if (report.heartbeatMs !== undefined && report.heartbeatMs > this.maxHeartbeatMs) report.heartbeatMs = this.maxHeartbeatMs;
    const fingerprint = JSON.stringify({ ...report, seq: undefined });
    const fresh: NodeRecord = {
      report,
      firstSeen: rec?.firstSeen ?? at,
      lastSeen: at,
      heartbeatMs: this.heartbeatOf(report),
      fingerprint,
      unhealthy: rec?.fingerprint === fingerprint ? rec.unhealthy : unhealthyAccelerators(report),
      staleNotified: false,
    };
    this.nodes.set(report.name, fresh);
    const view = this.view(fresh, at);
    if (rec === undefined) this.emit('added', view);
    else if (rec.staleNotified) this.emit('recovered', view);
    else if (rec.fingerprint !== fingerprint) this.emit('updated', view);
    this.arm(this.deadline(fresh));
    return view;
  }

  /** The heartbeat a node with this report is judged by: its own, capped, else the default. */
  heartbeatOf(report: Pick<NodeReport, 'heartbeatMs'>): number {
    return Math.min(report.heartbeatMs ?? this.defaultHeartbeatMs, this.maxHeartbeatMs);
  }

  removeNode(name: string): boolean {
    const rec = this.nodes.get(name);
    if (rec === undefined) return false;
    this.nodes.delete(name);
    this.emit('removed', this.view(rec, this.now()));
    return true;
  }

  getNode(name: string): NodeView | undefined {
    const rec = this.nodes.get(name);
    return rec === undefined ? undefined : this.view(rec, this.now());
  }

  /** The node's last report, without the derived fields (cheap: no copy). */
  getReport(name: string): NodeReport | undefined {
    return this.nodes.get(name)?.report;
  }

  listNodes(): NodeView[] {
    const at = this.now();
    return [...this.nodes.values()].map((r) => this.view(r, at)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Accelerators the node last reported unhealthy (empty for an unknown node). */
  unhealthyGpus(name: string): readonly AcceleratorReport[] {
    return this.nodes.get(name)?.unhealthy ?? [];
  }

  /**
   * Whether engines on `node` (on the GPUs `gpuUuids`, when known) may take requests. A node no
   * agent has reported is routable: the registry knows nothing against it. Allocation-free when ok.
   */
  isRoutable(node: string, gpuUuids?: readonly string[]): Routability {
    const rec = this.nodes.get(node);
    if (rec === undefined) return ROUTABLE;
    const at = this.now();
    const stale = this.isStale(rec, at);
    if (!stale && rec.unhealthy.length === 0) return ROUTABLE;
    return routability({ name: node, stale, silentSeconds: (at - rec.lastSeen) / 1000, unhealthy: rec.unhealthy }, gpuUuids);
  }

  /** Calls `fn` on every node change; returns the unsubscribe function. */
  onChange(fn: (e: NodeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Emits `stale` for every node that went silent since the last sweep; re-arms the timer. */
  sweep(): void {
    const at = this.now();
    let next = Infinity;
    for (const rec of this.nodes.values()) {
      if (rec.staleNotified) continue;
      if (this.isStale(rec, at)) {
        rec.staleNotified = true;
        this.log?.warn({ node: rec.report.name, lastSeen: iso(rec.lastSeen), heartbeatMs: rec.heartbeatMs }, 'node is stale: its engines leave routing');
        this.emit('stale', this.view(rec, at));
      } else {
        next = Math.min(next, this.deadline(rec));
      }
    }
    this.timerAt = Infinity;
    this.arm(next);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private isStale(rec: NodeRecord, at: number): boolean {
    return at > this.deadline(rec);
  }

  /** The last instant the node is still ready. */
  private deadline(rec: NodeRecord): number {
    return rec.lastSeen + this.staleAfter * rec.heartbeatMs;
  }

  /** Sets the timer for `deadline` unless one fires earlier already; a timer that fires early just re-arms. */
  private arm(deadline: number): void {
    if (!this.useTimer || this.disposed || !Number.isFinite(deadline) || deadline >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = deadline;
    // +1: the node is stale strictly after its deadline.
    this.timer = setTimeout(() => this.sweep(), Math.max(0, deadline - this.now()) + 1);
    this.timer.unref();
  }

  private view(rec: NodeRecord, at: number): NodeView {
    const stale = this.isStale(rec, at);
    return {
      ...rec.report,
      firstSeen: iso(rec.firstSeen),
      lastSeen: iso(rec.lastSeen),
      state: stale ? 'stale' : 'ready',
      ...(stale && { staleSince: iso(this.deadline(rec)) }),
      unhealthyGpus: rec.unhealthy.length,
    };
  }

  private emit(kind: NodeEventKind, node: NodeView): void {
    for (const fn of this.listeners) {
      try {
        fn({ kind, node });
      } catch (err) {
        this.log?.error({ err, kind, node: node.name }, 'a registry listener failed');
      }
    }
  }
}

function checkReport(input: unknown): NodeReport {
  if (Value.Check(NodeReport, input)) return structuredClone(input);
  const first = Value.Errors(NodeReport, input).First();
  throw new BrixletError('BRX_ERR_REGISTRY_INVALID_NODE', { reason: `${first?.path || '/'} ${first?.message ?? 'is invalid'}` });
}

function isOutOfOrder(stored: NodeReport, next: NodeReport): boolean {
  return next.bootId !== undefined && next.bootId === stored.bootId && next.seq !== undefined && stored.seq !== undefined && next.seq <= stored.seq;
}
