import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { startAgent } from '../../src/agent/main.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import { DisposableStore, toDisposable } from '../../src/common/lifecycle.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import { silentLog } from '../helpers/apps.js';

it('starts on an ephemeral port, defaults the node name to the host name, and closes with its store', async () => {
  const { config } = loadConfig({ flags: { 'agent.port': '0', 'agent.host': '127.0.0.1' } });
  const store = new DisposableStore();
  let componentClosed = false;
  const agent = await startAgent(
    { config, log: silentLog, processRegistry: createProcessRegistry(), store, version: '1.0.0' },
    [{ name: 'demo', dispose: () => { componentClosed = true; } }, ],
  );
  expect(agent.nodeName).toBe(hostname());
  expect(agent.components).toEqual(['demo']);
  const info = (await (await fetch(`${agent.url}/v1/info`)).json()) as { node: string; components: string[] };
  expect(info).toMatchObject({ node: hostname(), components: ['demo'] });
  store.add(toDisposable('marker', () => undefined));
  await store.dispose();
  expect(componentClosed).toBe(true);
  await expect(fetch(`${agent.url}/healthz`)).rejects.toThrow();
});
