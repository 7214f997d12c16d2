// A small discrete-event world for the rollout planner: each step the planner sees the fleet, the
// step's actions are applied the way the reconciler and Kubernetes would (a create is a new replica
// that loads for a while, a delete leaves a terminating replica that holds its GPUs for a few steps,
// a repair rebuilds the replica in place), then time passes: loads finish, terminating replicas go,
// and (optionally) replicas fail. The bounds are checked right after the actions, before time passes,
// since that is the moment the planner is responsible for.
import { planRollout } from '../../../src/coordinator/orchestrator/rollout.js';
import type { FleetRestartBudget, ReplicaView, RolloutAction, RolloutPlan } from '../../../src/coordinator/orchestrator/types.js';
import { seededRandom } from '../../../src/common/seeded-random.js';

export const STEP_MS = 1000;

export interface SimReplica {
  name: string;
  revision: string;
  ready: boolean;
  failed: boolean;
  createdAtMs: number;
  deletionCost: number;
  restarts: number;
  lastRestartMs?: number;
  restartWindowStartMs?: number;
  /** Step at which a loading replica becomes ready. */
  readyAtStep?: number;
  /** Terminating: the step at which it is gone. */
  goneAtStep?: number;
}

export interface SimFleet {
  desired: number;
  target: string;
  maxSurge: number | string;
  maxUnavailable: number | string;
  paused: boolean;
  budget: FleetRestartBudget;
}

export interface SimOptions {
  seed: number;
  /** Steps a replica takes to load: 1..maxLoadSteps. */
  maxLoadSteps: number;
  /** Steps a deleted replica keeps its GPUs: 1..maxTerminatingSteps. */
  maxTerminatingSteps: number;
  /** Chance per step that one live replica fails (0 = never). */
  failureRate: number;
}

/** What one step looked like, for the assertions and for a readable counterexample. */
export interface StepRecord {
  step: number;
  desired: number;
  plan: RolloutPlan;
  countBefore: number;
  countAfter: number;
  readyBefore: number;
  readyAfter: number;
}

const serving = (r: SimReplica) => r.goneAtStep === undefined && r.ready && !r.failed;

export class RolloutSim {
  readonly replicas: SimReplica[] = [];
  readonly history: StepRecord[] = [];
  step = 0;
  private nextId = 0;
  private readonly random: () => number;

  constructor(
    readonly fleet: SimFleet,
    readonly options: SimOptions,
  ) {
    this.random = seededRandom(options.seed);
  }

  /** Adds a replica as it exists before the first step (an earlier revision, loading or serving). */
  seed(r: Omit<SimReplica, 'name' | 'createdAtMs'> & { name?: string; createdAtMs?: number }): void {
    this.replicas.push({ ...r, name: r.name ?? this.newName(), createdAtMs: r.createdAtMs ?? -this.replicas.length - 1 });
  }

  view(): ReplicaView[] {
    return this.replicas.map((r) => ({
      name: r.name,
      revision: r.revision,
      ready: r.ready,
      failed: r.failed,
      terminating: r.goneAtStep !== undefined,
      createdAtMs: r.createdAtMs,
      deletionCost: r.deletionCost,
      restarts: r.restarts,
      ...(r.lastRestartMs === undefined ? {} : { lastRestartMs: r.lastRestartMs }),
      ...(r.restartWindowStartMs === undefined ? {} : { restartWindowStartMs: r.restartWindowStartMs }),
    }));
  }

  get nowMs(): number {
    return this.step * STEP_MS;
  }

  /** GPU-holding replicas: live and terminating. */
  get count(): number {
    return this.replicas.length;
  }

  get readyCount(): number {
    return this.replicas.filter(serving).length;
  }

  plan(): RolloutPlan {
    const f = this.fleet;
    return planRollout({
      desiredReplicas: f.desired,
      targetRevision: f.target,
      maxSurge: f.maxSurge,
      maxUnavailable: f.maxUnavailable,
      paused: f.paused,
      restartBudget: f.budget,
      replicas: this.view(),
      nowMs: this.nowMs,
    });
  }

  /** One reconcile pass and one tick of the world. */
  tick(): StepRecord {
    const countBefore = this.count;
    const readyBefore = this.readyCount;
    const plan = this.plan();
    for (const a of plan.actions) this.apply(a);
    const record: StepRecord = { step: this.step, desired: this.fleet.desired, plan, countBefore, countAfter: this.count, readyBefore, readyAfter: this.readyCount };
    this.history.push(record);
    this.advance();
    return record;
  }

  /** Settled: every replica on the target revision and ready, as many as desired, none terminating. */
  settled(): boolean {
    const f = this.fleet;
    return this.replicas.length === f.desired && this.replicas.every((r) => serving(r) && r.revision === f.target);
  }

  private apply(a: RolloutAction): void {
    const o = this.options;
    switch (a.type) {
      case 'create':
        this.replicas.push({
          name: this.newName(),
          revision: a.revision,
          ready: false,
          failed: false,
          createdAtMs: this.nowMs,
          deletionCost: 0,
          restarts: 0,
          readyAtStep: this.step + 1 + Math.floor(this.random() * o.maxLoadSteps),
        });
        break;
      case 'delete': {
        const r = this.find(a.name);
        if (r.goneAtStep !== undefined) throw new Error(`step ${this.step}: delete of ${a.name}, already terminating`);
        r.goneAtStep = this.step + 1 + Math.floor(this.random() * o.maxTerminatingSteps);
        break;
      }
      case 'repair': {
        const r = this.find(a.name);
        if (!r.failed || r.goneAtStep !== undefined) throw new Error(`step ${this.step}: repair of ${a.name}, which is not a failed live replica`);
        r.failed = false;
        r.ready = false;
        r.restarts = a.attempt;
        r.lastRestartMs = this.nowMs;
        if (a.attempt === 1) r.restartWindowStartMs = this.nowMs;
        r.readyAtStep = this.step + 1 + Math.floor(this.random() * o.maxLoadSteps);
        break;
      }
      case 'give-up':
        if (!this.find(a.name).failed) throw new Error(`step ${this.step}: give-up on ${a.name}, which has not failed`);
        break;
    }
  }

  private advance(): void {
    this.step++;
    for (let i = this.replicas.length - 1; i >= 0; i--) {
      const r = this.replicas[i] as SimReplica;
      if (r.goneAtStep !== undefined && r.goneAtStep <= this.step) this.replicas.splice(i, 1);
      else if (!r.failed && !r.ready && r.readyAtStep !== undefined && r.readyAtStep <= this.step) r.ready = true;
    }
    if (this.options.failureRate > 0 && this.random() < this.options.failureRate) {
      const live = this.replicas.filter((r) => r.goneAtStep === undefined && !r.failed);
      const victim = live[Math.floor(this.random() * live.length)];
      if (victim !== undefined) {
        victim.failed = true;
        victim.ready = false;
      }
    }
  }

  private find(name: string): SimReplica {
    const r = this.replicas.find((x) => x.name === name);
    if (r === undefined) throw new Error(`step ${this.step}: action on unknown replica ${name}`);
    return r;
  }

  private newName(): string {
    return `rc-${String(this.nextId++).padStart(3, '0')}`;
  }
}
