/**
 * The rollout planner: one pure step of rolling upgrade, scaling and repair for a fleet whose
 * replicas each hold a whole GPU group (one RayCluster per replica on the `ray` backend). The rules
 * are a Deployment's, adapted to replicas that take minutes to load and hold many GPUs:
 *
 * - capacity: every replica that holds GPUs counts, terminating ones included (their GPUs are only
 *   free once they are gone), and nothing is created while that count is at desired + surge. With
 *   maxSurge 0 an upgrade therefore deletes an old replica, waits until it is gone, then creates.
 * - availability: a ready replica is deleted only while ready stays >= desired − unavailable;
 *   replicas that are not ready (loading, failed, out of budget) may always go.
 * - repair: a failed replica is rebuilt in place (same name) after an exponential backoff, up to
 *   maxRestarts per budget window; then the planner gives it up. A failed replica of an old
 *   revision during an upgrade is deleted instead: its replacement is on the way anyway.
 *
 * The caller (the reconciler) applies the actions and calls again with the state that results:
 * a plan is computed from one observed state and must not be applied twice. Re-planning on a
 * stale view (before the deletions and creations show up in the cache) would create or delete a
 * second time; the reconciler waits for its own writes to be observed ("expectations") first.
 * Equal inputs give equal plans: no clock, no randomness, victims in a total order.
 */
import { BrixletError } from '../../common/errors.js';
import type { FleetRestartBudget, ReplicaView, RolloutAction, RolloutInput, RolloutPlan } from './types.js';

const PERCENT = /^(\d+)%$/;

/**
 * A maxSurge / maxUnavailable value as a replica count: an integer as it is, "NN%" of `desired`
 * rounded up (surge) or down (unavailable). Anything else throws BRX_ERR_FLEET_ROLLOUT_BOUND.
 */
export function resolveBound(value: number | string, desired: number, roundUp: boolean, field = roundUp ? 'maxSurge' : 'maxUnavailable'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new BrixletError('BRX_ERR_FLEET_ROLLOUT_BOUND', { field, value, reason: 'a count must be a whole number >= 0' });
  }
  const m = typeof value === 'string' ? PERCENT.exec(value) : null;
  if (m === null) {
    throw new BrixletError('BRX_ERR_FLEET_ROLLOUT_BOUND', { field, value: JSON.stringify(value), reason: 'a string must be a percent like "25%"' });
  }
  const scaled = desired * Number(m[1]);
  // Integer arithmetic: 3 × 33% is 0.99 replicas, and float division must not make it 1.
  return roundUp ? Math.floor((scaled + 99) / 100) : Math.floor(scaled / 100);
}

/** Serving and not failed; terminating replicas are never counted as ready by the planner. */
function serving(r: ReplicaView): boolean {
  return r.ready && !r.failed && !r.terminating;
}

/**
 * Scale-down order, first victim first: not ready, then lower deletion cost, then an old revision
 * before the target one, then the oldest, then by name (so the order is total).
 */
export function victimOrder(replicas: readonly ReplicaView[], targetRevision: string): ReplicaView[] {
  return [...replicas].sort(
    (a, b) =>
      Number(serving(a)) - Number(serving(b)) ||
      a.deletionCost - b.deletionCost ||
      Number(a.revision === targetRevision) - Number(b.revision === targetRevision) ||
      a.createdAtMs - b.createdAtMs ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

interface RepairStep {
  readonly action?: RolloutAction;
  /** When this replica's situation changes by itself (backoff over, budget window over). */
  readonly wakeAtMs?: number;
  readonly backoff?: string;
}

/** What to do with one failed replica that stays: repair now, wait out the backoff, or give up. */
function repairStep(r: ReplicaView, budget: FleetRestartBudget, nowMs: number): RepairStep {
  const windowStart = r.restartWindowStartMs ?? r.lastRestartMs;
  const windowEnd = windowStart === undefined ? undefined : windowStart + budget.windowSeconds * 1000;
  const spent = windowEnd !== undefined && nowMs >= windowEnd ? 0 : r.restarts;
  if (spent >= budget.maxRestarts) {
    return { action: { type: 'give-up', name: r.name, restarts: spent }, wakeAtMs: windowEnd };
  }
  const backoffMs = Math.min(budget.backoffSeconds * 2 ** spent, budget.maxBackoffSeconds) * 1000;
  if (r.lastRestartMs !== undefined && nowMs < r.lastRestartMs + backoffMs) {
    const until = r.lastRestartMs + backoffMs;
    return { wakeAtMs: until, backoff: `${r.name} until ${new Date(until).toISOString()}` };
  }
  return { action: { type: 'repair', name: r.name, attempt: spent + 1 } };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** One reconcile step for the fleet: which replicas to create, delete, repair or give up on. */
export function planRollout(input: RolloutInput): RolloutPlan {
  const { desiredReplicas: desired, targetRevision: target, paused } = input;
  const surge = resolveBound(input.maxSurge, desired, true, 'maxSurge');
  let unavailable = resolveBound(input.maxUnavailable, desired, false, 'maxUnavailable');
  if (surge === 0 && unavailable === 0) unavailable = 1; // else nothing could ever move
  const minReady = Math.max(0, desired - unavailable);
  const maxCount = desired + surge;

  const live = input.replicas.filter((r) => !r.terminating);
  const terminating = input.replicas.length - live.length;
  const old = live.filter((r) => r.revision !== target);
  const current = live.filter((r) => r.revision === target);

  // Who should go. Upgrading: every old replica, plus target-revision replicas beyond desired.
  // Paused: only what is beyond desired, whatever its revision.
  const victims = paused
    ? victimOrder(live, target).slice(0, Math.max(0, live.length - desired))
    : victimOrder([...old, ...victimOrder(current, target).slice(0, Math.max(0, current.length - desired))], target);

  const deletes: RolloutAction[] = [];
  const deleted = new Set<string>();
  let ready = live.filter(serving).length;
  let blockedReady = 0;
  for (const v of victims) {
    if (serving(v)) {
      if (ready - 1 < minReady) {
        blockedReady++;
        continue;
      }
      ready--;
    }
    deleted.add(v.name);
    deletes.push({ type: 'delete', name: v.name, reason: !paused && v.revision !== target ? 'old-revision' : 'scale-down' });
  }

  // Who should come: target-revision replicas up to desired (paused: any revision counts), within capacity.
  const wanted = desired - (paused ? live.length : current.length);
  const headroom = maxCount - input.replicas.length;
  const createCount = Math.max(0, Math.min(wanted, headroom));
  const upgrading = !paused && input.replicas.some((r) => r.revision !== target);
  const creates: RolloutAction[] = [];
  const staying = live.length - deleted.size;
  for (let i = 1; i <= createCount; i++) {
    const reason = staying + i > desired ? 'surge' : upgrading ? 'replace' : 'scale-up';
    creates.push({ type: 'create', revision: target, reason });
  }

  const repairs: RolloutAction[] = [];
  const backoffs: string[] = [];
  let requeueAtMs: number | undefined;
  for (const r of [...live].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!r.failed || deleted.has(r.name)) continue;
    const step = repairStep(r, input.restartBudget, input.nowMs);
    if (step.action !== undefined) repairs.push(step.action);
    if (step.backoff !== undefined) backoffs.push(step.backoff);
    if (step.wakeAtMs !== undefined) requeueAtMs = Math.min(requeueAtMs ?? Infinity, step.wakeAtMs);
  }

  const waiting: string[] = [];
  if (paused && old.length > 0) waiting.push(`paused with ${plural(old.length, 'replica', 'replicas')} on an old revision`);
  if (wanted > createCount && terminating > 0) {
    waiting.push(`waiting for ${plural(terminating, 'terminating replica', 'terminating replicas')} to go`);
  }
  if (blockedReady > 0) {
    waiting.push(`waiting for ${plural(minReady - ready + 1, 'replica', 'replicas')} to become ready`);
  }
  if (backoffs.length > 0) waiting.push(`repair backoff: ${backoffs.join(', ')}`);

  return {
    actions: [...deletes, ...creates, ...repairs],
    surge,
    unavailable,
    ...(requeueAtMs === undefined ? {} : { requeueAtMs }),
    ...(waiting.length === 0 ? {} : { waiting: waiting.join('; ') }),
  };
}
