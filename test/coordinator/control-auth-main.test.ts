// The composed coordinator with --control.auth kubernetes on a wildcard control address: an agent
// reporting with its (rotating) ServiceAccount token file is taken for its own node only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { agentReportCredentials } from '../../src/agent/main.js';
import { createReporter } from '../../src/agent/reporter.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { type RunningCoordinator, startCoordinator } from '../../src/coordinator/main.js';
import { NODE_NAME_EXTRA } from '../../src/coordinator/registry/kube-node-auth.js';
import { createKubeClient, type KubeClient } from '../../src/kube/kube-client.js';
import { silentLog } from '../helpers/apps.js';

const NS = 'brixlet-system';
let server: FakeApiServer;
let kube: KubeClient;
let store: DisposableStore;
let c: RunningCoordinator;
const dir = mkdtempSync(join(tmpdir(), 'brixlet-kube-auth-'));

beforeAll(async () => {
  server = await startFakeApiServer({ namespace: NS });
  for (const node of ['node-a', 'node-b']) {
    server.addTokenReview(`token-of-${node}`, { username: `system:serviceaccount:${NS}:gpu-agent`, extra: { [NODE_NAME_EXTRA]: [node] } });
  }
  kube = createKubeClient({ kubeconfigText: server.kubeconfig(), env: {} });
  const { config } = loadConfig({
    flags: { 'gateway.host': '127.0.0.1', 'gateway.port': '0', 'control.host': '0.0.0.0', 'control.port': '0', 'control.auth': 'kubernetes', 'control.serviceAccounts': 'gpu-agent' },
    env: {},
  });
  store = new DisposableStore('test');
  c = await startCoordinator({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: 'test' }, { kube });
});

afterAll(async () => {
  await store.dispose();
  await kube.dispose();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

it('starts beyond loopback with kubernetes auth, takes an agent\'s own report, refuses its report for another node', async () => {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'token-of-node-a');
  const { config } = loadConfig({ flags: { 'agent.coordinatorAuth': 'kubernetes', 'agent.serviceAccountTokenFile': tokenFile }, env: {} });
  const creds = await agentReportCredentials(config);
  const control = c.controlUrl.replace('0.0.0.0', '127.0.0.1');
  const reporter = (nodeName: string) => createReporter({ coordinator: control, nodeName, agentUrl: `http://${nodeName}:9464`, version: '1', components: [], heartbeatMs: 10_000, log: silentLog, ...creds });
  const a = reporter('node-a');
  const b = reporter('node-b');
  try {
    expect(await a.reportNow()).toBe(true);
    expect(await b.reportNow()).toBe(false);
    expect(b.stats().lastError).toMatch(/^HTTP 403: .*may not report node node-b/);
    expect(c.registry.getNode('node-a')).toBeDefined();
    expect(c.registry.getNode('node-b')).toBeUndefined();
    // The token file is re-read: once the kubelet has put node-b's token there, node-b may report.
    writeFileSync(tokenFile, 'token-of-node-b');
    expect(await b.reportNow()).toBe(true);
  } finally {
    await Promise.all([a.dispose(), b.dispose()]);
  }
});
