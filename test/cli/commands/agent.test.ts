import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { listen } from '../../../src/common/http/listen.js';
import { Readiness } from '../../../src/common/readiness.js';
import { buildControlApp } from '../../../src/coordinator/control-app.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';
import { cli } from '../../helpers/cli.js';
import { LOOPBACK, startService } from '../../helpers/services.js';

it('brixlet agent serves only the agent and stops on signal', async () => {
  const svc = await startService(['agent', '--agent.port', '0', '--agent.host', '127.0.0.1']);
  expect(Object.keys(svc.urls)).toEqual(['agent', 'kvSocket']);
  expect(await (await fetch(`${svc.urls.agent}/v1/info`)).json()).toMatchObject({ components: ['accelerators', 'kvcache'] });
  expect(existsSync(svc.urls.kvSocket as string)).toBe(true);
  expect(await svc.stop()).toBe(0);
  expect(existsSync(svc.urls.kvSocket as string)).toBe(false);
  expect(LOOPBACK).toContain('--agent.host');
});

it('brixlet agent --coordinator reports the node (sim accelerators included) to a real control API', async () => {
  const registry = new Registry();
  const control = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness: new Readiness(), registry, version: '1', bodyLimit: 1024 * 1024 });
  const url = await listen(control, { host: '127.0.0.1', port: 0, server: 'control', flag: '--control.port' });
  try {
    const svc = await startService(['agent', '--agent.port', '0', '--agent.host', '127.0.0.1', '--agent.node-name', 'cli-node', '--accel', 'sim:healthy-8x-h100', '--coordinator', url, '--agent.heartbeat', '200ms']);
    await expect.poll(() => registry.getNode('cli-node')?.accelerators?.length, { timeout: 10_000, interval: 20 }).toBe(8);
    expect(registry.getNode('cli-node')).toMatchObject({ agentUrl: svc.urls.agent, components: ['accelerators', 'kvcache'], state: 'ready' });
    expect(await svc.stop()).toBe(0);
  } finally {
    registry.dispose();
    await control.close();
  }
});

it('brixlet agent --coordinator with an unreadable token file exits with BRX_ERR_REGISTRY_TOKEN before serving', async () => {
  const res = await cli(['agent', '--agent.port', '0', '--agent.host', '127.0.0.1', '--coordinator', 'http://127.0.0.1:1', '--agent.coordinator-token-file', '/nonexistent/token']);
  expect(res.code).toBe(2);
  expect(res.stderr).toContain('BRX_ERR_REGISTRY_TOKEN');
  expect(res.stdout).toBe('');
});
