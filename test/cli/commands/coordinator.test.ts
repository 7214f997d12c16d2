import { expect, it } from 'vitest';
import { startService } from '../../helpers/services.js';

it('brixlet coordinator serves gateway and control and stops on signal', async () => {
  const svc = await startService(['coordinator', '--gateway.port', '0', '--control.port', '0', '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1']);
  expect(Object.keys(svc.urls)).toEqual(['gateway', 'control']);
  expect((await fetch(`${svc.urls.gateway}/v1/models`)).status).toBe(200);
  expect(await (await fetch(`${svc.urls.control}/v1/nodes`)).json()).toEqual({ nodes: [] });
  expect(await svc.stop()).toBe(0);
});
