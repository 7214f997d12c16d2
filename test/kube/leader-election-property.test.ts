// Leader election over random failure schedules, in virtual time. Three candidates share one
// Lease in the fake API server's own ResourceStore (its resourceVersion conflicts are the real
// thing being exercised); every call a candidate makes may be slow, fail before it reaches the
// store, reach the store and lose its answer, or hang forever; candidates may be killed or
// stopped. Properties: no two candidates ever act at once, and once the faults stop, exactly one
// live candidate leads.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiStatusError, ResourceStore, type ResourceDefinition, type StoredObject } from '../../mocks/kube-apiserver/index.js';
import { codeForStatus, KubeError } from '../../src/kube/kube-error.js';
import { startLeaderElection, type ElectionTimers, type Lease, type LeaseApi, type LeaderElection } from '../../src/kube/leader-election.js';
import { silentLog } from '../helpers/apps.js';

const LEASE_DEF: ResourceDefinition = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
const LEASE_ID = 'leases.coordination.k8s.io';

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Timers and a clock that move only when the test says so; promise chains settle between timers. */
class VirtualTime implements ElectionTimers {
  now = Date.UTC(2026, 0, 1);
  private seq = 0;
  private tasks: Task[] = [];

  setTimeout(fn: () => void, ms: number): Task {
    const task = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return task;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Task).cancelled = true;
  }

  async runUntil(until: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      this.tasks = this.tasks.filter((t) => !t.cancelled);
      let next: Task | undefined;
      for (const t of this.tasks) if (t.at <= until && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.tasks.splice(this.tasks.indexOf(next), 1);
      this.now = Math.max(this.now, next.at);
      next.fn();
    }
    this.now = until;
  }
}

type Fault = { kind: 'ok' | 'error' | 'lost' | 'hang'; applyMs: number; answerMs: number };

const faultArb: fc.Arbitrary<Fault> = fc.record({
  kind: fc.constantFrom<Fault['kind']>('ok', 'ok', 'ok', 'error', 'lost', 'hang'),
  applyMs: fc.integer({ min: 0, max: 4000 }),
  answerMs: fc.integer({ min: 0, max: 8000 }),
});

/** The calls a candidate makes, reaching the store through a faulty virtual network until `faultsUntil`. */
function faultyLeases(store: ResourceStore, vt: VirtualTime, faults: Fault[], faultsUntil: number): LeaseApi {
  const toKube = (err: unknown): KubeError =>
    err instanceof ApiStatusError ? new KubeError(codeForStatus(err.code), err.message, { status: err.code, reason: err.reason }) : new KubeError('BRX_ERR_KUBE_API', String(err));
  const call = <T>(op: () => T): Promise<T> => {
    const fault: Fault = vt.now < faultsUntil ? (faults.shift() ?? { kind: 'ok', applyMs: 5, answerMs: 5 }) : { kind: 'ok', applyMs: 5, answerMs: 5 };
    return new Promise<T>((resolve, reject) => {
      if (fault.kind === 'hang') return;
      if (fault.kind === 'error') {
        vt.setTimeout(() => reject(new KubeError('BRX_ERR_KUBE_API', 'injected 500', { status: 500 })), fault.applyMs);
        return;
      }
      vt.setTimeout(() => {
        let result: T;
        try {
          result = op();
        } catch (err) {
          vt.setTimeout(() => reject(toKube(err)), fault.answerMs);
          return;
        }
        vt.setTimeout(() => (fault.kind === 'lost' ? reject(new KubeError('BRX_ERR_KUBE_API', 'connection reset')) : resolve(result)), fault.answerMs);
      }, fault.applyMs);
    });
  };
  return {
    find: (name, ns) => call(() => store.get(LEASE_ID, ns, name) as Lease | undefined),
    create: (body, ns) => call(() => store.create(LEASE_ID, ns, body as StoredObject) as Lease),
    replace: (body, ns) => call(() => store.update(LEASE_ID, ns, body.metadata.name, body as StoredObject) as Lease),
  };
}

interface Plan {
  readonly faults: Fault[];
  readonly startAt: number;
  readonly end: { kind: 'none' | 'crash' | 'stop'; at: number };
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  faults: fc.array(faultArb, { maxLength: 40 }),
  startAt: fc.integer({ min: 0, max: 20_000 }),
  end: fc.record({ kind: fc.constantFrom<Plan['end']['kind']>('none', 'none', 'crash', 'stop'), at: fc.integer({ min: 0, max: 60_000 }) }),
});

const FAULTS_UNTIL = 60_000;
const RUN_UNTIL = 150_000;

async function simulate(plans: Plan[]): Promise<void> {
  const vt = new VirtualTime();
  const t0 = vt.now;
  const store = new ResourceStore([LEASE_DEF]);
  const terms: { id: string; start: number; end: number }[] = [];
  const elections: (LeaderElection | undefined)[] = plans.map(() => undefined);
  const alive = plans.map((p) => p.end.kind === 'none');
  plans.forEach((plan, i) => {
    const id = `c${i}`;
    vt.setTimeout(() => {
      elections[i] = startLeaderElection({
        leases: faultyLeases(store, vt, [...plan.faults], t0 + FAULTS_UNTIL),
        namespace: 'brixlet',
        name: 'coordinator',
        identity: id,
        clock: () => vt.now,
        timers: vt,
        random: () => 0.5,
        log: silentLog,
        onStartedLeading(signal) {
          const term = { id, start: vt.now, end: Infinity };
          terms.push(term);
          signal.addEventListener('abort', () => (term.end = vt.now));
        },
        onStoppedLeading: () => undefined,
      });
    }, plan.startAt);
    if (plan.end.kind !== 'none') {
      vt.setTimeout(() => void elections[i]?.stop({ release: plan.end.kind === 'stop' }), Math.max(plan.startAt, plan.end.at));
    }
  });
  await vt.runUntil(t0 + RUN_UNTIL);

  const sorted = [...terms].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const next = sorted[i];
    if (prev && next && next.start < prev.end) throw new Error(`${next.id} began acting at ${next.start - t0} ms while ${prev.id} acted until ${prev.end - t0} ms`);
  }
  const leading = elections.filter((e, i) => alive[i] && e?.isLeader());
  if (alive.some(Boolean)) expect(leading).toHaveLength(1);
  else expect(terms.every((t) => t.end !== Infinity)).toBe(true);
  await Promise.all(elections.map((e) => e?.stop({ release: false })));
}

describe('leader election under random failures (virtual time, 15 s lease, 10 s deadline, 2 s retry)', () => {
  it('never lets two candidates act at once, and one live candidate leads once faults stop', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(planArb, { minLength: 2, maxLength: 3 }), (plans) => simulate(plans)),
      { numRuns: 60 },
    );
  }, 120_000);

  it('holds for a leader whose every renew hangs or loses its answer', async () => {
    const hang: Fault = { kind: 'hang', applyMs: 0, answerMs: 0 };
    const lost: Fault = { kind: 'lost', applyMs: 100, answerMs: 9000 };
    await simulate([
      { faults: [{ kind: 'ok', applyMs: 5, answerMs: 5 }, { kind: 'ok', applyMs: 5, answerMs: 5 }, lost, hang, lost, hang, lost, lost, lost, hang], startAt: 0, end: { kind: 'none', at: 0 } },
      { faults: [], startAt: 1000, end: { kind: 'none', at: 0 } },
    ]);
  });
});
