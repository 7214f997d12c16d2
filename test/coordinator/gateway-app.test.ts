import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { buildGatewayApp } from '../../src/coordinator/gateway-app.js';
import { Registry } from '../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

const registry = new Registry();
let app: BrixletServer;
beforeAll(async () => {
  app = await buildGatewayApp({ log: silentLog, metrics: testMetrics(), registry, version: '1', bodyLimit: 4096, startedAt: new Date(1_700_000_000_000) });
});
afterAll(() => app.close());

it('lists the union of engine models in the OpenAI format', async () => {
  expect((await app.inject('/v1/models')).json()).toEqual({ object: 'list', data: [] });
  registry.upsertEngine({ id: 'e1', url: 'http://e1', models: ['b-model', 'a-model'] });
  registry.upsertEngine({ id: 'e2', url: 'http://e2', models: ['a-model'] });
  expect((await app.inject('/v1/models')).json()).toEqual({
    object: 'list',
    data: [
      { id: 'a-model', object: 'model', created: 1_700_000_000, owned_by: 'brixlet' },
      { id: 'b-model', object: 'model', created: 1_700_000_000, owned_by: 'brixlet' },
    ],
  });
});

it('answers unknown OpenAI routes with an OpenAI-shaped error carrying a code', async () => {
  const res = await app.inject({ method: 'POST', url: '/v1/embeddings', payload: {} });
  expect(res.statusCode).toBe(404);
  expect(res.json().error).toMatchObject({ code: 'BRX_ERR_HTTP_NOT_FOUND', type: 'invalid_request_error' });
  expect((await app.inject('/healthz')).statusCode).toBe(200);
  expect(Object.keys((await app.inject('/openapi.json')).json().paths)).toContain('/v1/models');
});
