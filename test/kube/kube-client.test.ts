import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { createKubeClient } from '../../src/kube/kube-client.js';
import { RAY, RAY_ID, startServer } from './helpers.js';

let server: FakeApiServer;

beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

describe('createKubeClient', () => {
  it('works in-cluster: service-account token, CA and namespace', async () => {
    const client = createKubeClient({ inCluster: true, serviceAccountDir: server.serviceAccountDir(), env: server.inClusterEnv() });
    expect(client.namespace).toBe('serving');
    expect(client.server).toBe(server.url);
    await client.customObjects(RAY).create({ metadata: { name: 'from-pod' } });
    expect(server.store.get(RAY_ID, 'serving', 'from-pod')).toBeDefined();
    await client.dispose();
  });

  it('authenticates with the content of the service-account token file', async () => {
    const dir = server.serviceAccountDir();
    writeFileSync(join(dir, 'token'), 'stale');
    const client = createKubeClient({ inCluster: true, serviceAccountDir: dir, env: server.inClusterEnv() });
    await expect(client.customObjects(RAY).list()).rejects.toMatchObject({ code: 'BRX_ERR_KUBE_UNAUTHORIZED' });
    writeFileSync(join(dir, 'token'), server.token);
    // The tokenFile provider re-reads the file every 60 s (rotation); a new client reads it at once.
    const fresh = createKubeClient({ inCluster: true, serviceAccountDir: dir, env: server.inClusterEnv() });
    expect((await fresh.customObjects(RAY).list()).items).toEqual([]);
  });

  it('takes a namespace override, and an informer made after dispose never starts', async () => {
    const client = createKubeClient({ kubeconfigText: server.kubeconfig(), namespace: 'other', env: {} });
    const created = await client.customObjects(RAY).create({ metadata: { name: 'x' } });
    expect(created.metadata?.namespace).toBe('other');
    await client.dispose();
    const late = client.informer(RAY);
    await new Promise((r) => setTimeout(r, 30));
    expect(late.synced).toBe(false);
    expect(server.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });
});
