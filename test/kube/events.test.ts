// The event recorder against the fake API server: core/v1 Events as kubectl describe finds them
// (field selector on involvedObject), repeats folded by patching count/lastTimestamp, the 1 KiB
// message cap, the per-object rate limit, and failures that never reach the caller.
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer, ResourceDefinition } from '../../mocks/kube-apiserver/index.js';
import { capMessage, createEventRecorder, type EventRecorder, type EventRecorderOptions, type InvolvedObject } from '../../src/kube/events.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { silentLog } from '../helpers/apps.js';
import { startServer } from './helpers.js';

const EVENT_DEF: ResourceDefinition = { version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
const FLEET: InvolvedObject = { apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', name: 'llama', namespace: 'serving', uid: '0f7c2b1e-0000-4000-8000-000000000001' };
const NODE: InvolvedObject = { apiVersion: 'v1', kind: 'Node', name: 'gpu-1', uid: '0f7c2b1e-0000-4000-8000-000000000002' };

let server: FakeApiServer;
let client: KubeClient;
let core: CoreV1Api;
let clock: number;
let recorder: EventRecorder;

beforeEach(async () => {
  server = await startServer({ resources: [EVENT_DEF] });
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  core = client.kubeConfig.makeApiClient(CoreV1Api);
  clock = Date.UTC(2026, 5, 1, 12, 0, 0);
  recorder = make();
});
afterEach(async () => {
  await recorder.dispose();
  await client.dispose();
  await server.close();
});

function make(extra: Partial<EventRecorderOptions> = {}): EventRecorder {
  return createEventRecorder({ kube: client, component: 'brixlet-orchestrator', instance: 'coordinator-0', now: () => clock, log: silentLog, ...extra });
}

/** What `kubectl describe modelfleet llama` lists. */
async function eventsOf(obj: InvolvedObject): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace: obj.namespace ?? 'default', fieldSelector: `involvedObject.uid=${obj.uid ?? ''},involvedObject.kind=${obj.kind}` });
  // Distinct events are written concurrently: order by message, not by arrival.
  return list.items.sort((a, b) => (a.message ?? '').localeCompare(b.message ?? '') || (a.firstTimestamp?.getTime() ?? 0) - (b.firstTimestamp?.getTime() ?? 0));
}

const MINUTE = 60_000;

describe('event recorder', () => {
  it('writes a core/v1 Event in the object namespace that a field selector on involvedObject finds', async () => {
    recorder.normal(FLEET, 'ScalingReplicaSet', 'scaled up to 4 replicas');
    await recorder.flush();
    const [ev, ...rest] = await eventsOf(FLEET);
    expect(rest).toEqual([]);
    expect(ev).toMatchObject({
      metadata: { namespace: 'serving', name: expect.stringMatching(/^llama\.[0-9a-f]+$/) },
      involvedObject: { apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', name: 'llama', namespace: 'serving', uid: FLEET.uid },
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: 'scaled up to 4 replicas',
      count: 1,
      source: { component: 'brixlet-orchestrator', host: 'coordinator-0' },
      reportingComponent: 'brixlet-orchestrator',
      reportingInstance: 'coordinator-0',
    });
    expect(ev?.firstTimestamp).toEqual(new Date(clock));
    expect(recorder.stats).toEqual({ created: 1, patched: 0, dropped: 0, failed: 0 });
  });

  it('folds repeats within 10 minutes into one event (count, lastTimestamp by merge patch); later or different ones are new', async () => {
    recorder.warning(FLEET, 'ReplicaFailure', 'replica r-1: pod head failed');
    clock += MINUTE;
    recorder.warning(FLEET, 'ReplicaFailure', 'replica r-1: pod head failed');
    clock += 8 * MINUTE;
    recorder.warning(FLEET, 'ReplicaFailure', 'replica r-1: pod head failed');
    recorder.warning(FLEET, 'ReplicaFailure', 'replica r-2: pod head failed');
    await recorder.flush();
    let events = await eventsOf(FLEET);
    expect(events.map((e) => [e.message, e.count])).toEqual([
      ['replica r-1: pod head failed', 3],
      ['replica r-2: pod head failed', 1],
    ]);
    expect(events[0]?.lastTimestamp).toEqual(new Date(clock));
    expect(events[0]?.firstTimestamp).toEqual(new Date(clock - 9 * MINUTE));
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.contentType)).toEqual(['application/merge-patch+json', 'application/merge-patch+json']);
    clock += 11 * MINUTE;
    recorder.warning(FLEET, 'ReplicaFailure', 'replica r-1: pod head failed');
    await recorder.flush();
    events = await eventsOf(FLEET);
    expect(events.map((e) => e.count)).toEqual([3, 1, 1]);
    expect(recorder.stats).toMatchObject({ created: 3, patched: 2 });
  });

  it('caps messages at 1 KiB of UTF-8 on a character boundary', async () => {
    recorder.normal(FLEET, 'Long', 'é'.repeat(2000));
    await recorder.flush();
    const [ev] = await eventsOf(FLEET);
    expect(Buffer.byteLength(ev?.message ?? '')).toBeLessThanOrEqual(1024);
    expect(ev?.message).toMatch(/^é+…$/);
    expect(capMessage('short')).toBe('short');
    expect(capMessage('abcdef', 5)).toBe('ab…');
  });

  it('rate-limits per object: a burst, then one more per refill interval; other objects are not affected', async () => {
    await recorder.dispose();
    recorder = make({ burst: 3, refillMs: 5 * MINUTE });
    for (let i = 0; i < 5; i++) recorder.warning(FLEET, 'Flapping', `attempt ${i}`);
    recorder.normal(NODE, 'Cordoned', 'unhealthy GPU');
    await recorder.flush();
    expect((await eventsOf(FLEET)).map((e) => e.message)).toEqual(['attempt 0', 'attempt 1', 'attempt 2']);
    expect(recorder.stats.dropped).toBe(2);
    clock += 5 * MINUTE;
    recorder.warning(FLEET, 'Flapping', 'attempt 5');
    recorder.warning(FLEET, 'Flapping', 'attempt 6');
    await recorder.flush();
    expect((await eventsOf(FLEET)).map((e) => e.message)).toEqual(['attempt 0', 'attempt 1', 'attempt 2', 'attempt 5']);
    // A cluster-scoped object's events go to `default`.
    expect((await eventsOf(NODE)).map((e) => [e.metadata?.namespace, e.reason])).toEqual([['default', 'Cordoned']]);
  });

  it('never throws on API failures: logs and counts them, and recreates an event deleted under it', async () => {
    server.failNext({ method: 'POST', path: '/events', status: 500 });
    expect(() => recorder.normal(FLEET, 'Created', 'first')).not.toThrow();
    await recorder.flush();
    expect(recorder.stats).toMatchObject({ created: 0, failed: 1 });
    recorder.normal(FLEET, 'Created', 'again');
    await recorder.flush();
    const [ev] = await eventsOf(FLEET);
    await core.deleteNamespacedEvent({ namespace: 'serving', name: ev?.metadata?.name ?? '' });
    clock += MINUTE;
    recorder.normal(FLEET, 'Created', 'again'); // the patch gets 404: a fresh event is written
    await recorder.flush();
    expect((await eventsOf(FLEET)).map((e) => [e.message, e.count])).toEqual([['again', 1]]);
    expect(recorder.stats).toMatchObject({ created: 2, failed: 1 });
  });
});
