import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { startService } from '../../helpers/services.js';

it('brixlet coordinator serves gateway and control and stops on signal', async () => {
  const svc = await startService(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1']);
  expect(Object.keys(svc.urls)).toEqual(['gateway', 'control']);
  expect((await fetch(`${svc.urls.gateway}/v1/models`)).status).toBe(200);
  expect(await (await fetch(`${svc.urls.control}/v1/nodes`)).json()).toEqual({ nodes: [] });
  expect(await svc.stop()).toBe(0);
});

it('refuses to start a control API beyond loopback without credentials: exit 2, naming the flags', async () => {
  const r = await cli(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '0.0.0.0']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('BRX_ERR_CONTROL_INSECURE');
  for (const flag of ['--control.token-file', '--control.auth', '--control.insecure']) expect(r.stderr).toContain(flag);
  // The default host is 0.0.0.0: a bare `brixlet coordinator` is refused the same way.
  expect((await cli(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1'])).code).toBe(2);
});

it('--control.insecure starts it open anyway, with a warning and the gauge at 1', async () => {
  const svc = await startService(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '0.0.0.0', '--control.insecure']);
  expect(svc.run.stderr.text).toMatch(/"level":40.*INSECURE: --control.insecure/);
  expect(await (await fetch(`${svc.urls.control}/metrics`)).text()).toContain('brixlet_control_writes_unauthenticated 1');
  expect(await svc.stop()).toBe(0);
});

it('starts beyond loopback with a cluster secret; writes need it or a node token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-coord-secret-'));
  try {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'cluster-secret-0123456789abcdef\n', { mode: 0o600 });
    const svc = await startService(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '0.0.0.0', '--control.token-file', secretFile]);
    const url = `${svc.urls.control}/v1/nodes/n1`;
    const body = JSON.stringify({ name: 'n1', agentUrl: 'http://n1:9464', version: '1', components: [], bootId: 'b', seq: 1 });
    const open = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const token = (await cli(['token', 'node', 'n1', '--secret-file', secretFile])).stdout.trim();
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body })).status).toBe(200);
    expect(await (await fetch(`${svc.urls.control}/metrics`)).text()).toContain('brixlet_control_writes_unauthenticated 0');
    expect(await svc.stop()).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('takes the --orchestrator.* flags (the chart renders them): with no cluster it stops on the kube config, not on a flag', async () => {
  const env = { KUBECONFIG: '/nonexistent/brixlet-kubeconfig', HOME: '/nonexistent', KUBERNETES_SERVICE_HOST: undefined };
  const base = ['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1'];
  const r = await cli([...base, '--orchestrator.enabled', '--orchestrator.namespace', 'ml', '--orchestrator.resync', '30s'], env);
  expect(r.stderr).not.toMatch(/unknown (flag|option)/i);
  expect(r.stderr).toContain('BRX_ERR_KUBE_CONFIG');
  expect(r.code).not.toBe(0);
  const printed = await cli(['config', 'print', '--json', '--orchestrator.enabled', '--orchestrator.probe-interval', '5s']);
  expect(printed.code).toBe(0);
  expect(JSON.parse(printed.stdout).config.orchestrator).toMatchObject({ enabled: true, probeInterval: 5000 });
});
