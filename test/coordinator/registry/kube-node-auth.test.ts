// --control.auth kubernetes against the fake API server: an agent's ServiceAccount token, reviewed
// with a TokenReview, may report only the node its pod runs on; answers are cached briefly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import type { NodeReport } from '../../../src/common/node-report.js';
import { createControlAuth } from '../../../src/coordinator/registry/control-auth.js';
import { createKubeNodeAuth, NODE_NAME_EXTRA, POD_NAME_EXTRA, POD_UID_EXTRA } from '../../../src/coordinator/registry/kube-node-auth.js';
import { deriveNodeToken } from '../../../src/coordinator/registry/node-token.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { registerNodeRoutes } from '../../../src/coordinator/registry/routes.js';
import { createKubeClient, type KubeClient } from '../../../src/kube/kube-client.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const NS = 'brixlet';
const AGENT = `system:serviceaccount:${NS}:brixlet-agent`;
const SECRET = 'cluster-secret-0123456789abcdef';
let server: FakeApiServer;
let kube: KubeClient;
let app: BrixletServer;
let now = 1_000_000;
const registry = new Registry({ sweepTimer: false });
let seq = 0;

const report = (name: string): NodeReport => ({ name, agentUrl: `http://${name}:9464`, version: '1', components: [], bootId: 'boot', seq: ++seq });
const put = (name: string, token: string) => app.inject({ method: 'PUT', url: `/v1/nodes/${name}`, payload: report(name), headers: { authorization: `Bearer ${token}` } });
const reviews = (): number => server.requests.filter((r) => r.path.endsWith('/tokenreviews')).length;

beforeAll(async () => {
  server = await startFakeApiServer({ resources: [{ version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true }], namespace: NS });
  kube = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  server.store.create('pods', NS, { metadata: { name: 'agent-x' }, spec: { nodeName: 'node-x', containers: [] } });
  const podUid = (server.store.get('pods', NS, 'agent-x')!.metadata as { uid: string }).uid;
  // Kubernetes 1.30+: the node is in the token itself.
  server.addTokenReview('sa-token-node-1', { username: AGENT, extra: { [POD_NAME_EXTRA]: ['agent-1'], [NODE_NAME_EXTRA]: ['node-1'] } });
  // Older clusters: only the pod; its spec.nodeName names the node.
  server.addTokenReview('sa-token-pod-x', { username: AGENT, extra: { [POD_NAME_EXTRA]: ['agent-x'], [POD_UID_EXTRA]: [podUid] } });
  server.addTokenReview('sa-token-replaced-pod', { username: AGENT, extra: { [POD_NAME_EXTRA]: ['agent-x'], [POD_UID_EXTRA]: ['an-older-pod'] } });
  server.addTokenReview('sa-token-other-sa', { username: `system:serviceaccount:${NS}:default`, extra: { [NODE_NAME_EXTRA]: ['node-1'] } });
  server.addTokenReview('sa-token-other-ns', { username: 'system:serviceaccount:tenant:brixlet-agent', extra: { [NODE_NAME_EXTRA]: ['node-1'] } });
  server.addTokenReview('sa-token-unbound', { username: AGENT });
  server.addTokenReview('user-token', { username: 'alice' });
  app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 64 * 1024, metrics: testMetrics() });
  const nodeAuth = createKubeNodeAuth(kube, { serviceAccounts: ['brixlet-agent'], namespace: kube.namespace, now: () => now });
  await registerNodeRoutes(app, { registry, auth: createControlAuth({ kube: nodeAuth, secret: SECRET }) });
});

afterAll(async () => {
  await app.close();
  await kube.dispose();
  await server.close();
});

describe('ServiceAccount tokens (TokenReview)', () => {
  it('the allowed ServiceAccount reports the node its pod runs on: from the token, else from the bound pod', async () => {
    expect((await put('node-1', 'sa-token-node-1')).statusCode).toBe(200);
    expect((await put('node-x', 'sa-token-pod-x')).statusCode).toBe(200);
    expect(registry.getNode('node-1')).toBeDefined();
    expect(registry.getNode('node-x')).toBeDefined();
    expect(server.requests.some((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods/agent-x`)).toBe(true);
  });

  it('refuses another node\'s report (403), whatever node it claims', async () => {
    for (const [node, token] of [['node-2', 'sa-token-node-1'], ['node-1', 'sa-token-pod-x']] as const) {
      const res = await put(node, token);
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_FORBIDDEN', message: expect.stringContaining(`may not report node ${node}`) });
    }
    expect(registry.getNode('node-2')).toBeUndefined();
  });

  it('refuses a ServiceAccount that is not the agent\'s, or the agent\'s name in another namespace (403)', async () => {
    for (const token of ['sa-token-other-sa', 'sa-token-other-ns', 'user-token']) {
      const res = await put('node-1', token);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toContain('is not an agent ServiceAccount');
    }
  });

  it('refuses a token bound to no pod or to a replaced pod (403), and a token the API server does not authenticate (401)', async () => {
    expect((await put('node-x', 'sa-token-unbound')).json().error.message).toContain('not bound to a pod');
    expect((await put('node-x', 'sa-token-replaced-pod')).json().error.message).toContain('was replaced');
    const unknown = await put('node-x', 'forged-or-expired-token');
    expect(unknown.statusCode).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe('Bearer realm="brixlet"');
    // The cluster secret's node tokens keep working next to ServiceAccount tokens, without an API call.
    const before = reviews();
    expect((await put('node-3', deriveNodeToken(SECRET, 'node-3'))).statusCode).toBe(200);
    expect((await put('node-4', deriveNodeToken(SECRET, 'node-3'))).statusCode).toBe(401);
    expect(reviews()).toBe(before);
  });

  it('a ServiceAccount token cannot DELETE (403); the cluster secret can', async () => {
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/node-1', headers: { authorization: 'Bearer sa-token-node-1' } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: '/v1/nodes/node-1', headers: { authorization: `Bearer ${SECRET}` } })).statusCode).toBe(200);
  });

  it('caches a positive review for a minute: heartbeats cost no API calls until it expires', async () => {
    const before = reviews();
    for (let i = 0; i < 5; i++) expect((await put('node-1', 'sa-token-node-1')).statusCode).toBe(200);
    expect(reviews()).toBe(before);
    now += 60_001;
    expect((await put('node-1', 'sa-token-node-1')).statusCode).toBe(200);
    expect(reviews()).toBe(before + 1);
    // A refused token is asked again every time: nothing negative is remembered.
    await put('node-1', 'forged-or-expired-token');
    await put('node-1', 'forged-or-expired-token');
    expect(reviews()).toBe(before + 3);
  });

  it('answers 503 and names the cause when the API server cannot review', async () => {
    server.failNext({ path: '/tokenreviews', status: 500 });
    const res = await put('node-9', 'sa-token-never-seen');
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'BRX_ERR_REGISTRY_AUTH_UNAVAILABLE', message: expect.stringContaining('tokenreviews') });
  });
});

describe('--control.token-audience', () => {
  it('takes only tokens issued for that audience, so the tokens it sees are no good against the API server (and the reverse)', async () => {
    server.addTokenReview('sa-token-brixlet-aud', { username: AGENT, audiences: ['brixlet'], extra: { [NODE_NAME_EXTRA]: ['node-7'] } });
    const scoped = createKubeNodeAuth(kube, { serviceAccounts: ['brixlet-agent'], namespace: NS, audience: 'brixlet' });
    expect(await scoped.nodeOf('sa-token-brixlet-aud')).toEqual({ node: 'node-7', user: AGENT });
    await expect(scoped.nodeOf('sa-token-node-1')).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED' });
    const plain = createKubeNodeAuth(kube, { serviceAccounts: ['brixlet-agent'], namespace: NS });
    await expect(plain.nodeOf('sa-token-brixlet-aud')).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED' });
  });
});
