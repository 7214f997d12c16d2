// Leader election against the fake API server, on the real clock with short durations (2 s lease,
// 600 ms renew deadline, 100 ms retry). Nothing here asserts how long anything took: waits only
// catch hangs, and the safety check is that the "acting" intervals of the candidates never overlap.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition } from '../../mocks/kube-apiserver/index.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { microTime, startLeaderElection, type Lease, type LeaderElection, type LeaderElectionOptions } from '../../src/kube/leader-election.js';
import { silentLog } from '../helpers/apps.js';

const LEASE_DEF: ResourceDefinition = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
const LEASE_ID = 'leases.coordination.k8s.io';
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

interface Candidate {
  readonly id: string;
  readonly election: LeaderElection;
  readonly stops: number[];
}

let server: FakeApiServer;
let client: KubeClient;
let candidates: Candidate[];
/** [start, end) of every leadership term, by candidate; end is Infinity while acting. */
let acting: { id: string; start: number; end: number }[];

beforeEach(async () => {
  server = await startFakeApiServer({ resources: [LEASE_DEF], namespace: 'brixlet' });
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  candidates = [];
  acting = [];
});
afterEach(async () => {
  await Promise.all(candidates.map((c) => c.election.stop()));
  await client.dispose();
  await server.close();
});

function candidate(id: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const stops: number[] = [];
  const election = startLeaderElection({
    kube: client,
    name: 'brixlet-coordinator',
    identity: id,
    // 1.4 s between the renew deadline and expiry, so a loaded machine's late timers cannot make
    // a step-down look later than a takeover.
    leaseDurationSeconds: 2,
    renewDeadlineMs: 600,
    retryPeriodMs: 100,
    log: silentLog,
    onStartedLeading(signal) {
      const term = { id, start: Date.now(), end: Infinity };
      acting.push(term);
      signal.addEventListener('abort', () => (term.end = Date.now()));
    },
    onStoppedLeading: () => stops.push(Date.now()),
    ...extra,
  });
  const c = { id, election, stops };
  candidates.push(c);
  return c;
}

function expectNoOverlap(): void {
  const terms = [...acting].sort((a, b) => a.start - b.start);
  for (let i = 1; i < terms.length; i++) {
    const prev = terms[i - 1];
    const next = terms[i];
    if (prev && next) expect(next.start, `${next.id} began before ${prev.id} stopped`).toBeGreaterThanOrEqual(prev.end);
  }
}

const lease = (): Lease | undefined => server.store.get(LEASE_ID, 'brixlet', 'brixlet-coordinator') as Lease | undefined;
const leaders = (): string[] => candidates.filter((c) => c.election.isLeader()).map((c) => c.id);

describe('leader election through a Lease', () => {
  it('elects exactly one of two candidates and writes the Lease as client-go does', async () => {
    const seen: (string | undefined)[] = [];
    candidate('a', { onNewLeader: (id) => seen.push(id) });
    candidate('b');
    await expect.poll(() => leaders().length).toBe(1);
    const [leader] = leaders();
    // Let several renew rounds pass: still one leader, and it is the lease holder.
    await expect.poll(() => Number(lease()?.metadata?.resourceVersion ?? 0)).toBeGreaterThan(6);
    expect(leaders()).toEqual([leader]);
    const spec = lease()?.spec;
    expect(spec).toMatchObject({ holderIdentity: leader, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(spec?.renewTime).toMatch(MICRO);
    expect(spec?.acquireTime).toMatch(MICRO);
    expect(Date.parse(spec?.renewTime ?? '')).toBeGreaterThan(Date.parse(spec?.acquireTime ?? ''));
    expect(candidates.map((c) => c.election.leader())).toEqual([leader, leader]);
    expect(seen).toEqual([leader]);
    expectNoOverlap();
  });

  it('a killed leader (no release) is replaced once its lease expires; transitions count up', async () => {
    const a = candidate('a');
    await expect.poll(() => a.election.isLeader()).toBe(true);
    const b = candidate('b');
    await expect.poll(() => b.election.leader()).toBe('a');
    await a.election.stop({ release: false });
    expect(lease()?.spec?.holderIdentity).toBe('a');
    await expect.poll(() => b.election.isLeader()).toBe(true);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.stops).toHaveLength(1);
    expectNoOverlap();
  });

  it('a graceful stop releases the lease at once: the other takes it long before a 30 s lease could expire', async () => {
    const opts = { leaseDurationSeconds: 30 };
    const a = candidate('a', opts);
    await expect.poll(() => a.election.isLeader()).toBe(true);
    const b = candidate('b', opts);
    await expect.poll(() => b.election.leader()).toBe('a');
    await a.election.stop();
    expect(a.election.isLeader()).toBe(false);
    await expect.poll(() => b.election.isLeader()).toBe(true);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseDurationSeconds: 30, leaseTransitions: 1 });
    expectNoOverlap();
  });

  it.each([
    [500, 'InternalError'],
    [409, 'Conflict'],
  ] as const)('a leader whose renews fail with %i steps down by its deadline; leadership resumes without overlap', async (status, reason) => {
    const a = candidate('a');
    await expect.poll(() => a.election.isLeader()).toBe(true);
    const b = candidate('b');
    await expect.poll(() => b.election.leader()).toBe('a');
    // Every PUT fails for a while: more failures than the leader can spend before its deadline.
    server.failNext({ method: 'PUT', path: '/leases/', status, reason, times: 20 });
    await expect.poll(() => a.stops.length, { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => leaders().length, { timeout: 30_000 }).toBe(1);
    expectNoOverlap();
    expect(acting.filter((t) => t.end === Infinity)).toHaveLength(1);
  }, 70_000);

  it('survives failing reads without throwing, and leads once they heal', async () => {
    server.failNext({ method: 'GET', path: '/leases/', status: 503, reason: 'ServiceUnavailable', times: 5 });
    const a = candidate('a');
    await expect.poll(() => a.election.isLeader()).toBe(true);
    expect(server.requests.filter((r) => r.method === 'GET' && r.path.includes('/leases/')).length).toBeGreaterThan(5);
  });

  it('refuses timings where a leader could outlive its lease', () => {
    const base = { kube: client, name: 'x', identity: 'a', log: silentLog, onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => startLeaderElection({ ...base, leaseDurationSeconds: 5, renewDeadlineMs: 5000 })).toThrow(/below the lease duration/);
    expect(() => startLeaderElection({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(/retryPeriodMs/);
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
  });
});
