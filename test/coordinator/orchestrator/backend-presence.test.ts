// followBackendCrds against the fake API server: CRDs appear, change and go away while it polls.
import { afterEach, describe, expect, it } from 'vitest';
import { minimalBackendCrd } from '../../../mocks/kube-apiserver/fleet-resources.js';
import { type FakeApiServer, startFakeApiServer, type StoredObject } from '../../../mocks/kube-apiserver/index.js';
import { followBackendCrds } from '../../../src/coordinator/orchestrator/backend-presence.js';
import type { FleetBackend } from '../../../src/coordinator/orchestrator/types.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog } from '../../helpers/apps.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A backend CRD serving `versions`, each with a schema that requires spec.size to be an integer. */
function backendCrd(backend: FleetBackend, versions: readonly string[] = ['v1'], sizeType = 'integer'): StoredObject {
  return minimalBackendCrd(backend, versions, { type: 'object', properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: sizeType } } } } });
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function start(): Promise<{ server: FakeApiServer; kube: KubeClient; presence: ReturnType<typeof followBackendCrds>; changes: FleetBackend[] }> {
  const server = await startFakeApiServer({ namespace: 'serving' });
  const kube = createKubeClient({ kubeconfigText: server.kubeconfig() });
  const presence = followBackendCrds({ kube, log: silentLog, pollIntervalMs: 20 });
  const changes: FleetBackend[] = [];
  presence.onChange((b) => changes.push(b));
  cleanup.push(() => server.close(), () => kube.dispose(), () => presence.dispose());
  return { server, kube, presence, changes };
}

const rayObject = (size: unknown) => ({ apiVersion: 'ray.io/v1', kind: 'RayCluster', metadata: { name: 'x' }, spec: { size } });

describe('followBackendCrds', () => {
  it('reports both backends missing once the API server has answered, with nothing to validate', async () => {
    const { presence } = await start();
    await presence.whenKnown();
    expect(presence.installed('ray')).toBe(false);
    expect(presence.installed('lws')).toBe(false);
    expect(presence.validator('ray')).toBeUndefined();
    expect(presence.validator('lws')).toBeUndefined();
    expect(presence.name).toBe('backend CRD presence');
  });

  it('follows a CRD that appears and goes away, telling which backend changed', async () => {
    const { server, presence, changes } = await start();
    await presence.whenKnown();
    // The first answer (absent, from unknown) is a change of each backend.
    await until(() => changes.includes('ray') && changes.includes('lws'), 'first answers passed on');
    changes.length = 0;
    server.installCrd(backendCrd('lws'));
    await until(() => presence.installed('lws'), 'lws installed');
    expect(presence.installed('ray')).toBe(false);
    expect(changes).toEqual(['lws']);

    changes.length = 0;
    server.uninstallCrd('leaderworkersets.leaderworkerset.x-k8s.io');
    await until(() => !presence.installed('lws'), 'lws removed');
    expect(changes).toEqual(['lws']);
    expect(presence.validator('lws')).toBeUndefined();
  });

  it('validates against the installed schema of the version brixlet writes', async () => {
    const { server, presence } = await start();
    server.installCrd(backendCrd('ray'));
    await until(() => presence.installed('ray'), 'ray installed');
    const validate = presence.validator('ray');
    expect(validate).toBeDefined();
    expect(validate?.(rayObject(3))).toEqual([]);
    expect(validate?.(rayObject('three')).join(' ')).toMatch(/size/);
    expect(validate?.({ apiVersion: 'ray.io/v1', kind: 'RayCluster', spec: {} }).join(' ')).toMatch(/size/);
  });

  it('compiles a schema once per CRD resourceVersion and again when the CRD changes', async () => {
    const { server, presence, changes } = await start();
    server.installCrd(backendCrd('ray'));
    await until(() => presence.installed('ray'), 'ray installed');
    const first = presence.validator('ray');
    expect(presence.validator('ray')).toBe(first);
    expect(first?.(rayObject('big'))).not.toEqual([]);

    changes.length = 0;
    server.installCrd(backendCrd('ray', ['v1'], 'string'));
    await until(() => presence.validator('ray') !== first, 'a new validator');
    expect(changes).toContain('ray');
    expect(presence.validator('ray')?.(rayObject('big'))).toEqual([]);
    expect(presence.validator('ray')?.(rayObject(3))).not.toEqual([]);
  });

  it('refuses every object, once, saying why, when the CRD lacks the version brixlet writes (KubeRay before 1.1)', async () => {
    const { server, presence } = await start();
    server.installCrd(backendCrd('ray', ['v1alpha1']));
    await until(() => presence.installed('ray'), 'ray installed');
    const problems = presence.validator('ray')?.(rayObject(3)) ?? [];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('the installed rayclusters.ray.io CRD cannot validate ray.io/v1');
  });

  it('falls back to discovery where reading CRDs is forbidden: installed, but no schema to check', async () => {
    const { server, kube } = await start();
    server.installCrd(backendCrd('lws'));
    server.failNext({ method: 'GET', path: 'customresourcedefinitions', status: 403, reason: 'Forbidden', times: 1_000_000 });
    const presence = followBackendCrds({ kube, log: silentLog, pollIntervalMs: 20 });
    cleanup.push(() => presence.dispose());
    await presence.whenKnown();
    await until(() => presence.installed('lws'), 'lws found through discovery');
    expect(presence.installed('ray')).toBe(false);
    expect(presence.validator('lws')).toBeUndefined();
  });

  it('stops calling listeners after an unsubscribe and after dispose', async () => {
    const { server, kube } = await start();
    const presence = followBackendCrds({ kube, log: silentLog, pollIntervalMs: 20 });
    await presence.whenKnown();
    const seen: FleetBackend[] = [];
    const kept: FleetBackend[] = [];
    const off = presence.onChange((b) => seen.push(b));
    presence.onChange((b) => kept.push(b));
    off();
    server.installCrd(backendCrd('ray'));
    await until(() => kept.includes('ray'), 'the remaining listener');
    expect(seen).toEqual([]);
    await presence.dispose();
    kept.length = 0;
    server.installCrd(backendCrd('lws'));
    await new Promise((r) => setTimeout(r, 100));
    expect(kept).toEqual([]);
  });
});
