import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
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
