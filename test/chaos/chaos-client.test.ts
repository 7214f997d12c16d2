import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { createChaosClient, PAUSE_ANNOTATION, type ChaosClient } from '../../src/chaos/chaos-client.js';
import { CHAOS_KINDS } from '../../src/chaos/chaos-kinds.js';
import { describeChaosState } from '../../src/chaos/chaos-status.js';
import { networkChaos } from '../../src/chaos/network-chaos.js';
import { podChaos } from '../../src/chaos/pod-chaos.js';
import { scheduleChaos } from '../../src/chaos/schedule-chaos.js';
import type { ChaosObject } from '../../src/chaos/types.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { INJECTED_STATUS, startChaosServer } from './fake-chaos-server.js';

let server: FakeApiServer;
let kube: KubeClient;
let chaos: ChaosClient;
/** Plays the Chaos Mesh controller: writes status and finalizers. */
let controller: KubeClient;

beforeEach(async () => {
  server = await startChaosServer();
  kube = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  controller = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  chaos = createChaosClient(kube);
});
afterEach(async () => {
  await kube.dispose();
  await controller.dispose();
  await server.close();
});

const pods = () => controller.customObjects<ChaosObject>(CHAOS_KINDS.PodChaos.ref);
const kill = (extra: Partial<Parameters<typeof podChaos>[0]> = {}) =>
  podChaos({ name: 'kill-head', action: 'pod-kill', selector: { namespaces: ['serving'], labelSelectors: { 'ray.io/node-type': 'head' } }, ...extra } as Parameters<typeof podChaos>[0]);
const writes = () => server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path} ${r.contentType ?? ''}`.trim());
const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`);

describe('chaos client against the fake API server', () => {
  it('apply creates in the client namespace, leaves an identical object alone, and merge-patches a changed one', async () => {
    const first = await chaos.apply(kill());
    expect(first.action).toBe('created');
    expect(first.object.metadata).toMatchObject({ name: 'kill-head', namespace: 'serving', uid: expect.any(String) });
    expect((await chaos.apply(kill())).action).toBe('unchanged');

    const edited = await chaos.apply(kill({ labels: { run: '2' }, mode: 'fixed', value: 2, gracePeriod: 5 } as never));
    expect(edited.action).toBe('patched');
    expect(edited.object.spec).toMatchObject({ mode: 'fixed', value: '2', gracePeriod: 5 });
    expect(edited.object.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'brixlet', run: '2' });
    // Dropping a field from the object drops it on the server too (the patch sends null).
    const back = await chaos.apply(kill({ labels: { run: '2' } }));
    expect(back.object.spec).not.toHaveProperty('gracePeriod');
    expect(back.object.spec).not.toHaveProperty('value');
    expect(writes()).toEqual([
      'POST /apis/chaos-mesh.org/v1alpha1/namespaces/serving/podchaos application/json',
      'PATCH /apis/chaos-mesh.org/v1alpha1/namespaces/serving/podchaos/kill-head application/merge-patch+json',
      'PATCH /apis/chaos-mesh.org/v1alpha1/namespaces/serving/podchaos/kill-head application/merge-patch+json',
    ]);
  });

  it('apply validates before sending anything, and honours the object namespace', async () => {
    const bad = { ...kill(), spec: { ...kill().spec, mode: 'most' } };
    expect(await codeOf(chaos.apply(bad as never))).toContain('BRX_ERR_CHAOS_INVALID: invalid PodChaos kill-head: spec.mode: must be one of one, all, fixed');
    expect(server.requests).toHaveLength(0);
    const other = await chaos.apply(kill({ namespace: 'ops' }));
    expect(other.object.metadata.namespace).toBe('ops');
    expect(server.store.get('podchaos.chaos-mesh.org', 'ops', 'kill-head')).toBeDefined();
  });

  it('apply patches instead when someone else creates the object between its read and its create', async () => {
    await pods().create({ ...kill(), metadata: { name: 'kill-head', namespace: 'serving' } } as ChaosObject);
    server.failNext({ method: 'GET', path: '/podchaos/kill-head', status: 404, reason: 'NotFound' });
    const r = await chaos.apply(kill());
    expect(r.action).toBe('patched');
    expect(r.object.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'brixlet' });
  });

  it('status reads the controller conditions, phase and injected records; a missing object is reported, not thrown', async () => {
    await chaos.apply(kill());
    const fresh = await chaos.status('PodChaos', 'kill-head');
    expect(fresh).toMatchObject({ exists: true, conditions: {}, records: 0 });
    expect(describeChaosState(fresh)).toBe('phase unknown, no conditions yet (is the Chaos Mesh controller running?)');
    await pods().patchStatus('kill-head', INJECTED_STATUS);
    const st = await chaos.status('PodChaos', 'kill-head');
    expect(st).toEqual({
      kind: 'PodChaos',
      name: 'kill-head',
      namespace: 'serving',
      exists: true,
      desiredPhase: 'Run',
      conditions: { Selected: 'True', AllInjected: 'True', AllRecovered: 'False', Paused: 'False' },
      records: 2,
      injected: 1,
    });
    expect(describeChaosState(st)).toBe('phase Run, Selected=True AllInjected=True AllRecovered=False Paused=False, 1/2 injected');
    expect(await chaos.status('PodChaos', 'nope')).toMatchObject({ exists: false });
  });

  it('status of a Schedule reports its active runs and last run', async () => {
    await chaos.apply(scheduleChaos({ schedule: '@every 5m', experiment: kill() }));
    await controller.customObjects(CHAOS_KINDS.Schedule.ref).patchStatus('kill-head', { active: [{ kind: 'PodChaos', name: 'kill-head-x1' }], time: '2026-01-01T00:00:00Z' });
    const st = await chaos.status('Schedule', 'kill-head');
    expect(describeChaosState(st)).toBe('1 active, last run 2026-01-01T00:00:00Z');
  });

  it('wait resolves on the status update that makes the condition true, not before', async () => {
    await chaos.apply(networkChaos({ name: 'delay', action: 'delay', delay: { latency: '100ms' }, duration: '1m', selector: { namespaces: ['serving'] } }));
    const nets = controller.customObjects<ChaosObject>(CHAOS_KINDS.NetworkChaos.ref);
    let resolved = false;
    const waiting = chaos.wait('NetworkChaos', 'delay', { until: 'AllInjected', timeoutMs: 5000 }).then((s) => ((resolved = true), s));
    await new Promise((r) => setTimeout(r, 100));
    await nets.patchStatus('delay', { conditions: [{ type: 'Selected', status: 'True' }, { type: 'AllInjected', status: 'False' }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(resolved).toBe(false);
    await nets.patchStatus('delay', INJECTED_STATUS);
    const state = await waiting;
    expect(state.conditions.AllInjected).toBe('True');
    // The wait's watch is closed again.
    await expect.poll(() => server.openWatches).toBe(0);
  });

  it('wait times out with BRX_ERR_CHAOS_TIMEOUT naming the condition and the current state', async () => {
    await chaos.apply(kill());
    await pods().patchStatus('kill-head', { conditions: [{ type: 'Selected', status: 'False', reason: 'NoPodsFound' }] });
    const err = await chaos.wait('PodChaos', 'kill-head', { until: 'AllInjected', timeoutMs: 300 }).then(
      () => ({ code: 'resolved', statusCode: 0, message: '' }),
      (e: unknown) => e as { code: string; statusCode: number; message: string },
    );
    expect(err).toMatchObject({ code: 'BRX_ERR_CHAOS_TIMEOUT', statusCode: 504 });
    expect(err.message).toBe('timed out after 300 ms waiting for PodChaos serving/kill-head: waiting for AllInjected=True; phase unknown, Selected=False');
    await expect.poll(() => server.openWatches).toBe(0);
  });

  it('delete with a controller finalizer: wait Deleted ends only when the controller lets go', async () => {
    await chaos.apply(kill());
    await pods().mergePatch('kill-head', { metadata: { finalizers: ['chaos-mesh/records'] } });
    expect(await chaos.delete('PodChaos', 'kill-head')).toBe(true);
    let gone = false;
    const waiting = chaos.wait('PodChaos', 'kill-head', { until: 'Deleted', timeoutMs: 5000 }).then(() => (gone = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(gone).toBe(false);
    expect((await chaos.get('PodChaos', 'kill-head'))?.metadata.deletionTimestamp).toBeDefined();
    await pods().mergePatch('kill-head', { metadata: { finalizers: null } });
    await waiting;
    expect(await chaos.get('PodChaos', 'kill-head')).toBeUndefined();
    expect(await chaos.delete('PodChaos', 'kill-head')).toBe(false);
  });

  it('pause sets and clears the Chaos Mesh pause annotation; list filters by label', async () => {
    await chaos.apply(kill());
    await chaos.apply(kill({ name: 'other', labels: { team: 'x' } }));
    expect((await chaos.pause('PodChaos', 'kill-head', true)).metadata.annotations).toEqual({ [PAUSE_ANNOTATION]: 'true' });
    expect((await chaos.pause('PodChaos', 'kill-head', false)).metadata.annotations ?? {}).toEqual({});
    expect((await chaos.list('PodChaos', { labelSelector: 'team=x' })).map((o) => o.metadata.name)).toEqual(['other']);
  });

  it('API failures surface as catalog Kubernetes errors', async () => {
    server.failNext({ method: 'POST', status: 403, message: 'podchaos is forbidden' });
    expect(await codeOf(chaos.apply(kill()))).toMatch(/^BRX_ERR_KUBE_UNAUTHORIZED: create podchaos\.chaos-mesh\.org serving\/kill-head: podchaos is forbidden/);
  });
});
