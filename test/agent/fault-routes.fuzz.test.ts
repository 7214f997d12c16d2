// Fuzzes the fault API: random methods, paths, headers and bodies against a live (in-process) agent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_CLASSES } from '../../src/accel/fault/rule-schema.js';
import { auth, type FaultAgent, faultAgent } from '../helpers/fault-agent.js';

const MAX_RULES = 12;
const fixtures = join(import.meta.dirname, '../accel/fault/fixtures');
const tomls = ['gpu_mock_conf-0.1.0.toml', 'gpu_mock_conf-0.2.0.toml'].map((f) => readFileSync(join(fixtures, f), 'utf8'));

let a: FaultAgent;
beforeAll(async () => {
  a = await faultAgent({ maxRules: MAX_RULES });
});
afterAll(() => a.close());

const ruleish = fc.record(
  {
    id: fc.oneof(fc.constantFrom('r1', 'r2', 'gpu-lost.3', 'aibrix.gpus.3.dram_ue'), fc.string({ maxLength: 80 })),
    target: fc.record(
      {
        device: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom('*', '3', null)),
        uuid: fc.oneof(fc.constant('GPU-344e1aa0-d0ea-ba06-729f-5261a1d94e06'), fc.string({ maxLength: 100 })),
        vendor: fc.constantFrom('nvidia', 'ascend', 'amd'),
      },
      { requiredKeys: [] },
    ),
    what: fc.oneof(
      fc.record({ api: fc.constantFrom('init', '*', 'nvmlDeviceGetTemperature', 'nvmlDeviceGetClockInfo(SM)', 'dcmi_get_device_health', 'nvmlBogus', 'rm -rf') }),
      fc.record({ class: fc.constantFrom(...FAULT_CLASSES, 'nope') }),
      fc.constant({ api: 'init', class: 'init' }),
    ),
    effect: fc.record(
      {
        return: fc.oneof(fc.integer({ min: -9000, max: 1000 }), fc.constantFrom('GPU_IS_LOST', 'DRIVER_NOT_LOADED', 'NOPE', '')),
        xid: fc.integer({ min: -1, max: 70_000 }),
        values: fc.record({ gpuTempC: fc.double(), pcieWidth: fc.integer({ min: -1, max: 64 }), remapPending: fc.boolean(), nvlinks: fc.array(fc.record({ link: fc.integer({ min: 0, max: 20 }), active: fc.boolean() }), { maxLength: 3 }) }, { requiredKeys: [] }),
        faultCodes: fc.array(fc.oneof(fc.integer({ min: -1, max: 0xffffffff + 1 }), fc.constantFrom('0x80E24E00', '0xZZ')), { maxLength: 3 }),
        npuHealth: fc.integer({ min: -1, max: 5 }),
      },
      { requiredKeys: [] },
    ),
    trigger: fc.record(
      { afterCalls: fc.integer({ min: -1, max: 5 }), probability: fc.double({ min: -0.5, max: 1.5 }), seed: fc.nat(), startInMs: fc.integer({ min: -1, max: 100 }), durationMs: fc.integer({ min: 0, max: 100_000 }), times: fc.integer({ min: 0, max: 3 }) },
      { requiredKeys: [] },
    ),
    sticky: fc.oneof(fc.boolean(), fc.constant('yes')),
    // Rules live at least a minute here, so none expires between the two reads the test compares.
    ttlMs: fc.oneof(fc.integer({ min: 60_000, max: 86_400_000 }), fc.constantFrom(0, -5, 1e12, 1.5)),
    extra: fc.anything(),
  },
  { requiredKeys: ['effect'] },
);

/** Mostly valid rules, so the store fills up to its limit and the handlers, not only the validators, run. */
const validRule = fc.record(
  {
    id: fc.constantFrom('r1', 'r2', 'r3', 'gpu-lost.3'),
    target: fc.record({ device: fc.integer({ min: 0, max: 7 }) }),
    what: fc.constantFrom({ api: 'nvmlDeviceGetTemperature' }, { class: 'ecc' }, { api: '*' }),
    effect: fc.oneof(fc.record({ xid: fc.integer({ min: 1, max: 160 }) }), fc.constant({ return: 'GPU_IS_LOST' }), fc.record({ values: fc.record({ gpuTempC: fc.integer({ min: 0, max: 110 }) }) })),
    trigger: fc.record({ afterCalls: fc.integer({ min: 0, max: 3 }), probability: fc.double({ min: 0, max: 1, noNaN: true }), times: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: [] }),
    sticky: fc.boolean(),
    ttlMs: fc.integer({ min: 60_000, max: 86_400_000 }),
  },
  { requiredKeys: ['effect', 'target'] },
);

const body = fc.oneof(
  { weight: 4, arbitrary: validRule.map((r) => ({ json: r })) },
  { weight: 4, arbitrary: ruleish.map((r) => ({ json: r })) },
  { weight: 2, arbitrary: fc.record({ target: fc.record({ device: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constant('*')) }, { requiredKeys: [] }), params: fc.record({ code: fc.integer({ min: -9000, max: 20 }), links: fc.array(fc.integer({ min: -1, max: 20 }), { maxLength: 3 }), tempC: fc.double() }, { requiredKeys: [] }), ttlMs: fc.integer({ min: 60_000, max: 1e7 }) }, { requiredKeys: [] }).map((r) => ({ json: r })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ json: v })) },
  { weight: 2, arbitrary: fc.oneof(fc.constantFrom(...tomls), fc.string({ maxLength: 200 }), fc.constantFrom('[gpus.3]\ncrictl_xid = [79]\n', 'version = 1\n[gpus]\ncard_count = 9', '[[x]]\n=', '{"a":', '__proto__', '{"__proto__":{"x":1},"effect":{}}')).map((t) => ({ text: t })) },
  { weight: 1, arbitrary: fc.constant({}) },
);

const path = fc.oneof(
  fc.constantFrom('/v1/faults', '/v1/faults', '/v1/faults/presets/gpu-lost', '/v1/faults/import', '/v1/faults/reset'),
  fc.constantFrom(
    '/v1/faults',
    '/v1/faults/',
    '/v1/faults/reset',
    '/v1/faults/presets',
    '/v1/faults/import',
    '/v1/faults/trace',
    '/v1/faults/trace?limit=3',
    '/v1/faults/trace?limit=0',
    '/v1/faults/trace?limit=abc&x=1',
    '/v1/faults/%E0%A4%A',
    '/v1/faults/r1',
    '/v1/faults/gpu-lost.3',
    '/v1/faults//presets',
  ),
  fc.constantFrom('gpu-lost', 'ecc-dbe', 'nvml-init-failure', 'npu-fault', 'nvlink-down', 'thermal-slowdown', 'npu-lost', 'GPU-LOST', '..').map((p) => `/v1/faults/presets/${p}`),
  fc.constantFrom('r1', 'r2', 'r3', 'gpu-lost.3', 'f1', 'f2').map((id) => `/v1/faults/${id}`),
  fc.string({ maxLength: 70 }).map((s) => `/v1/faults/${encodeURIComponent(s)}`),
  fc.string({ maxLength: 20 }).map((s) => `/v1/faults/presets/${encodeURIComponent(s)}`),
);

const authorized = fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const json = fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, fc.constantFrom('application/toml', 'text/plain', 'application/x-www-form-urlencoded', undefined));
const request = fc.oneof(
  // Well-aimed requests, so most reach the handlers ...
  { weight: 4, arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/faults'), body, contentType: json, authorized }) },
  { weight: 2, arbitrary: fc.record({ method: fc.constant('POST'), path: path.filter((p) => p.startsWith('/v1/faults/presets/')), body, contentType: json, authorized }) },
  { weight: 1, arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/faults/import'), body, contentType: fc.constantFrom('application/toml', 'text/plain', 'application/json'), authorized }) },
  { weight: 2, arbitrary: fc.record({ method: fc.constantFrom('GET', 'DELETE'), path, body: fc.constant({}), contentType: fc.constant(undefined), authorized }) },
  // ... and anything at all.
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'),
      path,
      body,
      contentType: fc.constantFrom('application/json', 'application/toml', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', undefined),
      authorized: fc.boolean(),
    }),
  },
);

describe('fault API fuzz', () => {
  it('answers only 2xx or 4xx with a BRX_ERR_ code, keeps serving and keeps the rule store consistent (2,000 requests)', async () => {
    let runs = 0;
    let fullest = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        runs++;
        const payload = r.method === 'GET' || r.method === 'OPTIONS' ? undefined : 'json' in r.body ? JSON.stringify(r.body.json) : 'text' in r.body ? r.body.text : undefined;
        const headers: Record<string, string> = { ...(r.authorized ? auth : { authorization: 'Bearer nope-nope-nope-nope' }) };
        if (payload !== undefined && r.contentType !== undefined) headers['content-type'] = r.contentType;
        const res = await a.app.inject({ method: r.method as 'GET', url: r.path, headers, ...(payload !== undefined && { payload }) });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode >= 200 && res.statusCode < 500, `${r.method} ${r.path} → ${res.statusCode} ${res.body}`).toBe(true);
        if (res.statusCode >= 400) expect(res.json().error.code, res.body).toMatch(/^BRX_ERR_[A-Z_]+$/);
        else expect(() => res.json()).not.toThrow();
        if (!r.authorized) expect(res.statusCode === 401 || res.statusCode === 404 || res.statusCode === 400, `${res.statusCode} unauthenticated`).toBe(true);

        const listed = (await a.app.inject({ url: '/v1/faults', headers: auth })).json() as { rules: { id: string }[] };
        const engine = a.faults.engine!.list().map((x) => x.id);
        expect(listed.rules.map((x) => x.id)).toEqual(engine);
        expect(engine.length).toBeLessThanOrEqual(MAX_RULES);
        fullest = Math.max(fullest, engine.length);
        if (runs % 100 === 0) {
          expect((await a.app.inject('/healthz')).statusCode).toBe(200);
          // The decorated backends read under whatever the fuzzer left in the store.
          const s = await a.accel.sampler.sampleNow();
          expect(s.devices).toHaveLength(a.accel.backends.some((b) => b.vendor === 'nvidia' && b.status().state === 'up') ? 8 : 0);
        }
      }),
      { numRuns: 2000, seed: Number(process.env.FUZZ_SEED ?? 20250104) },
    );
    expect(runs).toBeGreaterThanOrEqual(2000);
    // The fuzzer reached the handlers, not just the auth hook and the validators.
    expect(statuses.get(201) ?? 0).toBeGreaterThan(25);
    expect(statuses.get(409) ?? 0).toBeGreaterThan(25);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    // The limit was reached (and held).
    expect(fullest).toBe(MAX_RULES);
    expect((await a.app.inject('/healthz')).statusCode).toBe(200);
  }, 120_000);
});
