/**
 * Leader election through a `coordination.k8s.io/v1` Lease, with client-go's semantics: a
 * candidate takes the lease when it is absent, released, expired or already its own; every write
 * is conditional on the resourceVersion it read (409: someone else wrote, re-read); the leader
 * renews every retryPeriod and stops acting (aborts the signal it handed out) once renewDeadline
 * has passed since its last successful renew, which is before anyone else may take the lease
 * (renewDeadline < leaseDuration). That ordering, not luck, is what keeps two leaders from acting.
 *
 * A lease counts as held until leaseDuration after the later of its renewTime and the moment this
 * elector saw it change (client-go judges by the latter alone; taking both also covers a holder
 * whose clock is ahead). API failures never escape: they are logged and retried with backoff.
 */
import type { Logger } from '../common/logger.js';
import type { CustomObjects } from './custom-objects.js';
import { KubeError } from './kube-error.js';
import type { KubeObject, ResourceRef } from './types.js';

export const LEASE_RESOURCE: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true };

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with microseconds. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** The calls election makes; by default the kube client's custom objects for leases. */
export type LeaseApi = Pick<CustomObjects<Lease>, 'find' | 'create' | 'replace'>;

export interface ElectionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LeaderElectionOptions {
  /** Where leases live (a KubeClient); ignored when `leases` is given. */
  readonly kube?: { customObjects<T extends KubeObject>(ref: ResourceRef): CustomObjects<T> };
  readonly leases?: LeaseApi;
  /** Defaults to the client's namespace. */
  readonly namespace?: string;
  readonly name: string;
  /** Unique per candidate (the pod name, plus a random suffix if pods can restart in place). */
  readonly identity: string;
  /** Default 15. */
  readonly leaseDurationSeconds?: number;
  /** Default 10 000; must be below the lease duration. */
  readonly renewDeadlineMs?: number;
  /** Default 2 000; candidates add up to 20 % jitter, and after errors back off up to 4× (at most the lease duration). */
  readonly retryPeriodMs?: number;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  readonly timers?: ElectionTimers;
  readonly random?: () => number;
  /** Leadership began; `signal` aborts the moment it ends (act only while it is not aborted). */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void;
  /** The holder this candidate sees changed (its own identity included; undefined when free). */
  onNewLeader?(identity: string | undefined): void;
  readonly log: Logger;
}

export interface LeaderElection {
  /** Leading and still inside the renew deadline, by the clock, not only by the timer (a leader past it steps down here). */
  isLeader(): boolean;
  /** The holder last seen (this candidate's identity while leading). */
  leader(): string | undefined;
  /** Stops campaigning; a leader steps down and, unless `release` is false, frees the lease at once. */
  stop(opts?: { release?: boolean }): Promise<void>;
}

const realTimers: ElectionTimers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

/** MicroTime as the API server writes it: `2026-01-02T03:04:05.678000Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

class TimedOut extends Error {}

export function startLeaderElection(opts: LeaderElectionOptions): LeaderElection {
  const leaseMs = (opts.leaseDurationSeconds ?? 15) * 1000;
  const renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
  const retryMs = opts.retryPeriodMs ?? 2_000;
  if (!Number.isInteger(opts.leaseDurationSeconds ?? 15) || leaseMs <= 0) throw new TypeError('leader election: leaseDurationSeconds must be a positive integer');
  if (renewDeadlineMs >= leaseMs) throw new TypeError(`leader election: renewDeadlineMs (${renewDeadlineMs}) must be below the lease duration (${leaseMs} ms)`);
  if (retryMs * 1.2 >= renewDeadlineMs) throw new TypeError(`leader election: retryPeriodMs (${retryMs}) × 1.2 must be below renewDeadlineMs (${renewDeadlineMs})`);
  const maybeLeases = opts.leases ?? opts.kube?.customObjects<Lease>(LEASE_RESOURCE);
  if (!maybeLeases) throw new TypeError('leader election needs `kube` or `leases`');
  const leases: LeaseApi = maybeLeases;
  const now = opts.clock ?? Date.now;
  const timers = opts.timers ?? realTimers;
  const random = opts.random ?? Math.random;
  const { name, identity, namespace } = opts;
  const log = opts.log.child({ lease: `${namespace ?? ''}/${name}`, identity });

  let stopped = false;
  let leading = false;
  let deadlineAt = 0;
  let deadlineTimer: unknown;
  let controller: AbortController | undefined;
  /** The lease as this candidate last wrote it: a leader renews from it without re-reading. */
  let own: Lease | undefined;
  let observedRv: string | undefined;
  let observedAt = 0;
  let holder: string | undefined;
  let attemptId = 0;
  let wake: (() => void) | undefined;
  let retrySoon = false;
  let conflicts = 0;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const handle = timers.setTimeout(done, ms);
      function done(): void {
        timers.clearTimeout(handle);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** Settles when `p` does, after `ms` (TimedOut), or when stop() cancels it; never leaves a timer behind. */
  let cancelWait: (() => void) | undefined;
  const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
    new Promise<T | undefined>((resolve, reject) => {
      const handle = timers.setTimeout(() => reject(new TimedOut(`no answer from the API server within ${ms} ms`)), ms);
      const finish = (): void => {
        timers.clearTimeout(handle);
        cancelWait = undefined;
      };
      cancelWait = () => {
        finish();
        resolve(undefined);
      };
      p.then(
        (v) => {
          finish();
          resolve(v);
        },
        (err: unknown) => {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

  function setHolder(next: string | undefined): void {
    if (next === holder) return;
    holder = next;
    log.info({ leader: next ?? null }, next ? 'lease holder changed' : 'lease is free');
    try {
      opts.onNewLeader?.(next);
    } catch (err) {
      log.error({ err }, 'onNewLeader threw');
    }
  }

  function stepDown(why: string): void {
    if (!leading) return;
    leading = false;
    timers.clearTimeout(deadlineTimer);
    deadlineTimer = undefined;
    log.warn({ why }, 'stopped leading');
    controller?.abort(new Error(`leadership lost: ${why}`));
    controller = undefined;
    try {
      opts.onStoppedLeading();
    } catch (err) {
      log.error({ err }, 'onStoppedLeading threw');
    }
  }

  /** A write that left at `sentAt` succeeded: leading until sentAt + renewDeadline, if that is still ahead. */
  function renewed(lease: Lease, sentAt: number): void {
    own = lease;
    observe(lease);
    const until = sentAt + renewDeadlineMs;
    if (now() >= until) {
      stepDown('the renew answered after the renew deadline');
      return;
    }
    deadlineAt = until;
    timers.clearTimeout(deadlineTimer);
    deadlineTimer = timers.setTimeout(() => {
      if (leading && now() >= deadlineAt) stepDown(`no successful renew within ${renewDeadlineMs} ms`);
    }, deadlineAt - now());
    setHolder(identity);
    if (leading) return;
    leading = true;
    controller = new AbortController();
    log.info({ transitions: lease.spec?.leaseTransitions ?? 0 }, 'started leading');
    const signal = controller.signal;
    try {
      void Promise.resolve(opts.onStartedLeading(signal)).catch((err: unknown) => log.error({ err }, 'onStartedLeading failed'));
    } catch (err) {
      log.error({ err }, 'onStartedLeading threw');
    }
  }

  function observe(lease: Lease): void {
    const rv = lease.metadata?.resourceVersion;
    if (rv !== observedRv) {
      observedRv = rv;
      observedAt = now();
    }
  }

  function heldByOther(spec: LeaseSpec): boolean {
    const who = spec.holderIdentity;
    if (!who || who === identity) return false;
    const duration = (spec.leaseDurationSeconds ?? leaseMs / 1000) * 1000;
    const since = Math.max(parseTime(spec.renewTime) ?? 0, observedAt);
    return now() < since + duration;
  }

  function claim(lease: Lease | undefined, sentAt: number): Lease {
    const spec = lease?.spec ?? {};
    const ours = spec.holderIdentity === identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(lease?.metadata ?? {}), name, ...(namespace ? { namespace } : {}) },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: leaseMs / 1000,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(sentAt),
        renewTime: microTime(sentAt),
        leaseTransitions: lease ? (spec.leaseTransitions ?? 0) + (ours ? 0 : 1) : 0,
      },
    };
  }

  /** The deadline timer may fire late on a stalled event loop: every look at the clock enforces it too. */
  function checkDeadline(): boolean {
    if (leading && now() >= deadlineAt) stepDown(`no successful renew within ${renewDeadlineMs} ms`);
    return leading;
  }

  async function attempt(id: number): Promise<void> {
    checkDeadline();
    const current = (): boolean => id === attemptId && !stopped;
    let lease = leading ? own : undefined;
    if (!lease) {
      lease = await leases.find(name, namespace);
      if (!current()) return;
      if (lease) observe(lease);
    }
    if (lease) {
      const spec = lease.spec ?? {};
      if (heldByOther(spec)) {
        setHolder(spec.holderIdentity);
        stepDown(`the lease is held by ${spec.holderIdentity}`);
        return;
      }
    }
    const sentAt = now();
    const body = claim(lease, sentAt);
    try {
      const written = lease ? await leases.replace(body as Lease & { metadata: { name: string } }, namespace) : await leases.create(body, namespace);
      if (!current()) return;
      conflicts = 0;
      renewed(written, sentAt);
    } catch (err) {
      if (!(err instanceof KubeError && err.code === 'BRX_ERR_KUBE_CONFLICT')) throw err;
      if (!current()) return;
      // Someone wrote since our read (maybe our own abandoned renew): re-read now. A leader keeps
      // acting only until its deadline, so waiting for the next read is safe.
      own = undefined;
      retrySoon = leading && conflicts++ === 0; // once at once; a lease that keeps conflicting waits like any failure
      log.debug({ leading }, 'lease changed under us (409), re-reading');
    }
  }

  async function release(): Promise<void> {
    for (let tries = 0; tries < 2; tries++) {
      try {
        const lease = own ?? (await withTimeout(leases.find(name, namespace), renewDeadlineMs));
        if (!lease || lease.spec?.holderIdentity !== identity) return;
        const at = microTime(now());
        await withTimeout(
          leases.replace({ ...lease, metadata: { ...lease.metadata, name }, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: at, acquireTime: at } } as Lease & { metadata: { name: string } }, namespace),
          renewDeadlineMs,
        );
        log.info('lease released');
        return;
      } catch (err) {
        own = undefined;
        if (!(err instanceof KubeError && err.code === 'BRX_ERR_KUBE_CONFLICT')) {
          log.warn({ err }, 'could not release the lease; others take it once it expires');
          return;
        }
      }
    }
  }

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      const id = ++attemptId;
      retrySoon = false;
      try {
        await withTimeout(attempt(id), renewDeadlineMs);
        failures = 0;
      } catch (err) {
        if (stopped) break;
        attemptId++; // whatever that attempt still does is ignored
        own = undefined;
        failures++;
        const level = failures === 1 || failures % 10 === 0 ? 'warn' : 'debug';
        log[level]({ err: err instanceof TimedOut ? err.message : err, failures, leading }, 'lease attempt failed, retrying');
      }
      if (stopped) break;
      const jitter = 1 + 0.2 * random();
      const wait = retrySoon ? 0 : leading ? retryMs : failures > 0 ? Math.min(leaseMs, 4 * retryMs, retryMs * 2 ** (failures - 1)) * jitter : retryMs * jitter;
      await sleep(wait);
    }
  })();

  return {
    isLeader: checkDeadline,
    leader: () => holder,
    async stop(stopOpts = {}) {
      if (stopped) return;
      stopped = true;
      attemptId++;
      wake?.();
      const wasLeading = leading;
      cancelWait?.();
      stepDown('stopped');
      await loop;
      if (stopOpts.release !== false) await release();
      else if (wasLeading) log.info('stopped without releasing the lease');
    },
  };
}
