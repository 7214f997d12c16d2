import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../../mocks/kube-apiserver/index.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { startServer } from './helpers.js';

let server: FakeApiServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'brixlet-kubeconfig-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadKubeConfig', () => {
  it('reads kubeconfig text and takes the namespace from the context', () => {
    const { kubeConfig, namespace, source } = loadKubeConfig({ kubeconfigText: server.kubeconfig(), env: {} });
    expect(kubeConfig.getCurrentCluster()?.server).toBe(server.url);
    expect(namespace).toBe('serving');
    expect(source).toBe('kubeconfig text');
  });

  it('reads a kubeconfig file, from the option or from $KUBECONFIG', () => {
    const file = join(dir, 'config');
    writeFileSync(file, server.kubeconfig());
    expect(loadKubeConfig({ kubeconfig: file, env: {} }).source).toBe(file);
    expect(loadKubeConfig({ env: { KUBECONFIG: `${file}:/nonexistent` } }).kubeConfig.getCurrentCluster()?.server).toBe(server.url);
  });

  it('reads ~/.kube/config when nothing else is given', () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), server.kubeconfig());
    expect(loadKubeConfig({ env: { HOME: home } })).toMatchObject({ source: join(home, '.kube', 'config'), namespace: 'serving' });
  });

  it('loads in-cluster from an injected service-account dir and environment', () => {
    const { kubeConfig, namespace } = loadKubeConfig({ inCluster: true, serviceAccountDir: server.serviceAccountDir(), env: server.inClusterEnv() });
    expect(kubeConfig.getCurrentCluster()).toMatchObject({ server: server.url, skipTLSVerify: false });
    expect(kubeConfig.getCurrentUser()?.authProvider?.name).toBe('tokenFile');
    expect(namespace).toBe('serving');
  });

  it('falls back to in-cluster when only KUBERNETES_SERVICE_HOST is set', () => {
    const { source } = loadKubeConfig({ serviceAccountDir: server.serviceAccountDir(), env: server.inClusterEnv() });
    expect(source).toMatch(/^service account /);
  });

  it('reports BRX_ERR_KUBE_CONFIG for missing env, missing files, bad files and unknown contexts', () => {
    const cases: [Parameters<typeof loadKubeConfig>[0], RegExp][] = [
      [{ inCluster: true, serviceAccountDir: server.serviceAccountDir(), env: {} }, /KUBERNETES_SERVICE_HOST/],
      [{ inCluster: true, serviceAccountDir: join(dir, 'none'), env: server.inClusterEnv() }, /token does not exist/],
      [{ kubeconfig: join(dir, 'missing'), env: {} }, /missing/],
      [{ kubeconfigText: server.kubeconfig(), context: 'prod', env: {} }, /context "prod" is not defined/],
      [{ env: {}, home: join(dir, 'no-home') }, /no kubeconfig found: KUBECONFIG is not set, .*no-home\/\.kube\/config does not exist/],
    ];
    for (const [opts, message] of cases) {
      expect(() => loadKubeConfig(opts)).toThrow(expect.objectContaining({ code: 'BRX_ERR_KUBE_CONFIG', message: expect.stringMatching(message) }));
    }
  });
});
