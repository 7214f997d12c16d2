// Agent reports face the network: arbitrary JSON and mangled reports to PUT /v1/nodes/:name get a
// 4xx with a code (never a 5xx), leave the registry holding only valid nodes, and never disturb a
// node that reported correctly before.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrixletServer, createServer } from '../../../src/common/http/create-server.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { registerNodeRoutes } from '../../../src/coordinator/registry/routes.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

const registry = new Registry({ now: () => Date.parse('2026-02-03T04:05:06Z'), sweepTimer: false });
let app: BrixletServer;
const good = { name: 'good-node', agentUrl: 'http://good-node:9464', version: '1', components: ['accelerators'], heartbeatMs: 1000 };

beforeAll(async () => {
  app = await createServer({ name: 'control', title: 't', version: '1', log: silentLog, bodyLimit: 16 * 1024, metrics: testMetrics() });
  await registerNodeRoutes(app, { registry });
  expect((await app.inject({ method: 'PUT', url: '/v1/nodes/good-node', payload: good })).statusCode).toBe(200);
});
afterAll(() => app.close());

function expectRefusedOrStored(res: { statusCode: number; body: string }): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode >= 400) expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toMatch(/^BRX_ERR_[A-Z_]+$/);
}

it('refuses arbitrary JSON and bytes with a coded 4xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 300 })), async (payload) => {
      expectRefusedOrStored(await app.inject({ method: 'PUT', url: '/v1/nodes/fuzz-node', payload, headers: { 'content-type': 'application/json' } }));
    }),
    { numRuns: 150 },
  );
});

it('takes or refuses mangled reports whole, keeping the registry valid', async () => {
  const mangled = fc.record(
    {
      name: fc.oneof(fc.constant('fuzz-node'), fc.string({ maxLength: 300 })),
      agentUrl: fc.oneof(fc.constant('http://x:1'), fc.string({ maxLength: 50 }), fc.integer()),
      version: fc.oneof(fc.constant('1'), fc.string({ maxLength: 80 })),
      components: fc.oneof(fc.array(fc.string({ maxLength: 70 }), { maxLength: 40 }), fc.constant('x')),
      seq: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      heartbeatMs: fc.oneof(fc.integer({ min: -10, max: 4_000_000 }), fc.constant(null)),
      accelerators: fc.array(
        fc.record({ vendor: fc.constantFrom('nvidia', 'ascend', 'amd'), index: fc.integer({ min: -1, max: 9 }), uuid: fc.string({ maxLength: 20 }), name: fc.string({ maxLength: 20 }), health: fc.constantFrom('healthy', 'unhealthy', 'sick'), reasons: fc.array(fc.string({ maxLength: 30 }), { maxLength: 20 }) }, { requiredKeys: [] }),
        { maxLength: 4 },
      ),
      kv: fc.record({ capacityBytes: fc.oneof(fc.nat(), fc.integer()), usedBytes: fc.nat(), entries: fc.nat(), hitRatio: fc.oneof(fc.double({ min: -1, max: 2, noNaN: true }), fc.constant(null)), policy: fc.string({ maxLength: 40 }), socket: fc.string({ maxLength: 40 }) }, { requiredKeys: [] }),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(mangled, async (report) => {
      const name = typeof report.name === 'string' && /^[a-z0-9-]{1,60}$/.test(report.name) ? report.name : 'fuzz-node';
      expectRefusedOrStored(await app.inject({ method: 'PUT', url: `/v1/nodes/${encodeURIComponent(name)}`, payload: report }));
    }),
    { numRuns: 200 },
  );
  const nodes = (await app.inject('/v1/nodes')).json() as { nodes: { name: string; agentUrl: string }[] };
  expect(nodes.nodes.find((n) => n.name === 'good-node')).toMatchObject({ agentUrl: good.agentUrl });
  for (const n of nodes.nodes) expect(typeof n.agentUrl).toBe('string');
});
