// CRD presence against the fake API server: absent at start, installed later, removed, and the
// discovery fallback when reading CRDs is forbidden. Polls every 30 ms; waits only catch hangs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer, StoredObject } from '../../mocks/kube-apiserver/index.js';
import { watchCrdPresence, type CrdPresence, type CrdState } from '../../src/kube/crd-presence.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { silentLog } from '../helpers/apps.js';
import { startServer } from './helpers.js';

const CRD_NAME = 'widgets.example.brixlet.io';
const crd = (): StoredObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD_NAME },
  spec: {
    group: 'example.brixlet.io',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object' } } } } }],
  },
});

let server: FakeApiServer;
let client: KubeClient;
let presence: CrdPresence | undefined;

beforeEach(async () => {
  server = await startServer();
  client = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
});
afterEach(async () => {
  await presence?.dispose();
  presence = undefined;
  await client.dispose();
  await server.close();
});

function watch(onChange?: (s: CrdState) => void): CrdPresence {
  presence = watchCrdPresence({ kube: client, name: CRD_NAME, pollIntervalMs: 30, maxBackoffMs: 100, log: silentLog, ...(onChange && { onChange }) });
  return presence;
}

describe('CRD presence', () => {
  it('reports absent at start, present within a poll once installed (with the CRD and its schema), absent again once removed', async () => {
    const changes: CrdState[] = [];
    const p = watch((s) => changes.push(s));
    expect(await p.whenKnown()).toEqual({ present: false, reason: 'absent' });
    expect(p.crd()).toBeUndefined();
    server.installCrd(crd());
    await expect.poll(() => p.state.present).toBe(true);
    expect(p.state).toMatchObject({ present: true, via: 'crd', versions: ['v1'] });
    expect(p.crd()?.spec?.versions?.[0]?.schema?.openAPIV3Schema).toMatchObject({ type: 'object' });
    server.uninstallCrd(CRD_NAME);
    await expect.poll(() => p.state.present).toBe(false);
    expect(changes.map((c) => (c.present ? 'present' : c.reason))).toEqual(['absent', 'present', 'absent']);
  });

  it('notices a changed CRD (new resourceVersion) while present', async () => {
    server.installCrd(crd());
    const changes: CrdState[] = [];
    const p = watch((s) => changes.push(s));
    await expect.poll(() => p.state.present).toBe(true);
    const next = crd();
    (next.spec as { versions: object[] }).versions.push({ name: 'v2', served: true, storage: false });
    server.installCrd(next);
    await expect.poll(() => (p.state.present ? p.state.versions : [])).toEqual(['v1', 'v2']);
    expect(changes.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps polling through API errors (state stays unknown), then reports', async () => {
    server.failNext({ method: 'GET', path: '/customresourcedefinitions/', status: 500, times: 3 });
    server.installCrd(crd());
    const p = watch();
    expect(p.state).toEqual({ present: false, reason: 'unknown' });
    expect((await p.whenKnown()).present).toBe(true);
    expect(server.requests.filter((r) => r.path.endsWith(`/customresourcedefinitions/${CRD_NAME}`)).length).toBeGreaterThanOrEqual(4);
  });

  it('falls back to API discovery of the group when reading CRDs is forbidden (403)', async () => {
    server.failNext({ method: 'GET', path: '/customresourcedefinitions/', status: 403, reason: 'Forbidden', times: 1000 });
    const p = watch();
    expect(await p.whenKnown()).toEqual({ present: false, reason: 'absent' });
    server.installCrd(crd());
    await expect.poll(() => p.state).toEqual({ present: true, via: 'discovery', versions: ['v1'] });
    expect(p.crd()).toBeUndefined();
    server.uninstallCrd(CRD_NAME);
    await expect.poll(() => p.state.present).toBe(false);
  });

  it('stops polling on dispose', async () => {
    const p = watch();
    await p.whenKnown();
    await p.dispose();
    const seen = server.requests.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(server.requests.length).toBe(seen);
  });
});
