import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDiagnoseRoutes } from '../../src/agent/diagnose-routes.js';
import type { AccelSnapshot } from '../../src/accel/types.js';
import { type BrixletServer, createServer } from '../../src/common/http/create-server.js';
import { gpus, snapshot } from '../accel/diagnose/fixtures.js';
import { silentLog, testMetrics } from '../helpers/apps.js';

let app: BrixletServer;
let queue: AccelSnapshot[] = [];
let samples = 0;
const waits: number[] = [];
let failNext = false;

const t0 = Date.UTC(2025, 0, 1);
const sampler = {
  async sampleNow() {
    samples++;
    if (failNext) {
      failNext = false;
      throw new Error('backend closed');
    }
    const next = queue.shift();
    if (next === undefined) throw new Error('test queued no snapshot');
    return next;
  },
};

beforeAll(async () => {
  app = await createServer({ name: 'agent', title: 'test', version: '0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
  registerDiagnoseRoutes(app, { sampler, expectedCount: 2, xidIgnore: [13], wait: async (ms) => void waits.push(ms) });
  await app.ready();
});
afterAll(() => app.close());

function reset(...snaps: AccelSnapshot[]) {
  queue = snaps;
  samples = 0;
  waits.length = 0;
}

describe('GET /v1/diagnose', () => {
  it('level 1 (the default) takes one fresh sample and checks the configured count', async () => {
    reset(snapshot(gpus(1)));
    const res = await app.inject('/v1/diagnose');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(samples).toBe(1);
    expect(waits).toEqual([]);
    expect(body.level).toBe(1);
    expect(body.results.find((r: { check: string }) => r.check === 'device-count')).toMatchObject({ status: 'fail', observed: '1', expected: '2' });
  });

  it('lets the request override the expected count', async () => {
    reset(snapshot(gpus(1)));
    const body = (await app.inject('/v1/diagnose?expectedCount=1')).json();
    expect(body.summary.fail).toBe(0);
  });

  it('level 2 samples twice, the window apart, and reports deltas', async () => {
    reset(snapshot(gpus(2, { 0: { sample: { pcieReplayCount: 1 } } }), { at: t0 }), snapshot(gpus(2, { 0: { sample: { pcieReplayCount: 9 } } }), { at: t0 + 500 }));
    const body = (await app.inject('/v1/diagnose?level=2&window=500')).json();
    expect(samples).toBe(2);
    expect(waits).toEqual([500]);
    expect(body).toMatchObject({ level: 2, windowMs: 500 });
    expect(body.results.find((r: { check: string; device: number }) => r.check === 'pcie-replay' && r.device === 0)).toMatchObject({ status: 'warn', observed: '+8 in 0.5 s (total 9)' });
  });

  it('defaults the level-2 window to 2 s', async () => {
    reset(snapshot(gpus(2)), snapshot(gpus(2)));
    await app.inject('/v1/diagnose?level=2');
    expect(waits).toEqual([2000]);
  });

  it.each(['level=3', 'level=x', 'window=50', 'window=30001', 'bogus=1'])('rejects ?%s with 400', async (q) => {
    reset();
    const res = await app.inject(`/v1/diagnose?${q}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
    expect(samples).toBe(0);
  });

  it('answers 503 when sampling fails', async () => {
    reset();
    failNext = true;
    const res = await app.inject('/v1/diagnose');
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'BRX_ERR_ACCEL_UNAVAILABLE' });
    expect(res.json().error.message).toContain('backend closed');
  });

  it('publishes the query and the report schema in /openapi.json', async () => {
    // registerOpsRoutes serves this document as /openapi.json.
    const spec = app.swagger() as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const op = spec.paths['/v1/diagnose'].get;
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['expectedCount', 'level', 'window']);
    const schema = op.responses['200'].content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['level', 'node', 'at', 'summary', 'results']));
    expect(schema.properties.results.items.properties.action.anyOf.flatMap((a: { enum: string[] }) => a.enum)).toContain('reset-gpu');
  });
});
