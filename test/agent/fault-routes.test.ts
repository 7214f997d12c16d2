import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { bearerMatches } from '../../src/agent/fault-routes.js';
import { auth, type FaultAgent, faultAgent, TOKEN } from '../helpers/fault-agent.js';

const fixtures = join(import.meta.dirname, '../accel/fault/fixtures');
const open: FaultAgent[] = [];
afterEach(async () => {
  for (const a of open.splice(0)) await a.close();
});
async function agent(opts: Parameters<typeof faultAgent>[0] = {}) {
  const a = await faultAgent(opts);
  open.push(a);
  return a;
}

const ROUTES = [
  ['GET', '/v1/faults'],
  ['POST', '/v1/faults'],
  ['DELETE', '/v1/faults/x1'],
  ['POST', '/v1/faults/reset'],
  ['GET', '/v1/faults/presets'],
  ['POST', '/v1/faults/presets/gpu-lost'],
  ['POST', '/v1/faults/import'],
  ['GET', '/v1/faults/trace'],
] as const;

describe('fault API when disabled (the default)', () => {
  it.each(ROUTES)('%s %s answers 403 BRX_ERR_FAULT_DISABLED, token or not', async (method, url) => {
    const a = await agent({ enabled: false });
    for (const headers of [{}, auth]) {
      const res = await a.app.inject({ method, url, headers, ...(method === 'POST' && { payload: {} }) });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('BRX_ERR_FAULT_DISABLED');
    }
    expect(a.faults.engine).toBeUndefined();
    // No decorator: the sampler reads the sim backends themselves.
    expect(a.accel.backends.map((b) => b.constructor.name)).not.toContain('FaultDecorator');
  });
});

describe('fault API auth', () => {
  it.each(ROUTES)('%s %s needs the bearer token (401 without or with a wrong one)', async (method, url) => {
    const a = await agent();
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer ', `Bearer ${TOKEN} extra`]) {
      const res = await a.app.inject({ method, url, headers: authorization === undefined ? {} : { authorization }, ...(method === 'POST' && { payload: {} }) });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="brixlet"');
      expect(res.json().error.code).toBe('BRX_ERR_FAULT_UNAUTHORIZED');
    }
    expect(a.faults.engine!.size).toBe(0);
  });

  it('compares digests: any header shape works without throwing, only the token matches', () => {
    const expected = createHash('sha256').update(TOKEN).digest();
    expect(bearerMatches(`Bearer ${TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`bearer\t${TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, expected)).toBe(false);
    expect(bearerMatches('Bearer ' + 'x'.repeat(10_000), expected)).toBe(false);
    expect(bearerMatches(undefined, expected)).toBe(false);
  });
});

describe('fault rules CRUD', () => {
  it('adds, lists, deletes and resets rules; ids are assigned or kept', async () => {
    const a = await agent();
    const add = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { target: { device: 2 }, what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'GPU_IS_LOST' } } });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toMatchObject({ id: 'f1', target: { device: 2 }, vendors: ['nvidia'], codes: { nvidia: 15 }, sticky: false, ttlMs: 600_000, calls: 0, applied: 0 });
    const named = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { id: 'hot', target: { device: 1 }, effect: { values: { gpuTempC: 99 } }, ttlMs: 5000 } });
    expect(named.json()).toMatchObject({ id: 'hot', ttlMs: 5000 });
    const dup = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { id: 'hot', effect: { xid: 48 } } });
    expect([dup.statusCode, dup.json().error.code]).toEqual([409, 'BRX_ERR_FAULT_CONFLICT']);

    const list = (await a.app.inject({ url: '/v1/faults', headers: auth })).json();
    expect(list.rules.map((r: { id: string }) => r.id)).toEqual(['f1', 'hot']);
    expect(list).toMatchObject({ limit: 256 });

    const del = await a.app.inject({ method: 'DELETE', url: '/v1/faults/f1', headers: auth });
    expect(del.json().removed.id).toBe('f1');
    const again = await a.app.inject({ method: 'DELETE', url: '/v1/faults/f1', headers: auth });
    expect([again.statusCode, again.json().error.code]).toEqual([404, 'BRX_ERR_FAULT_NOT_FOUND']);

    const reset = await a.app.inject({ method: 'POST', url: '/v1/faults/reset', headers: auth });
    expect(reset.json()).toEqual({ removed: 1 });
    expect(a.faults.engine!.size).toBe(0);
  });

  it('explains an invalid rule and refuses rules past the limit', async () => {
    const a = await agent({ maxRules: 2 });
    const bad = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { what: { api: 'init', class: 'lost' }, effect: { return: 9 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'BRX_ERR_FAULT_RULE_INVALID' });
    expect(bad.json().error.message).toContain('not both');
    const schema = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { effect: { bogus: 1 } } });
    expect(schema.statusCode).toBe(400);
    expect(schema.json().error.code).toMatch(/^BRX_ERR_/);
    for (const d of [0, 1]) expect((await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { target: { device: d }, effect: { xid: 48 } } })).statusCode).toBe(201);
    const over = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { target: { device: 2 }, effect: { xid: 48 } } });
    expect([over.statusCode, over.json().error.code]).toEqual([409, 'BRX_ERR_FAULT_LIMIT']);
  });

  it('refuses a rule naming a call brixlet never makes (it would never fire), with the likely names', async () => {
    const a = await agent({});
    const res = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { what: { api: 'nvmlDeviceGetTemp' }, effect: { return: 'GPU_IS_LOST' } } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('BRX_ERR_FAULT_RULE_INVALID');
    expect(error.message).toContain('what.api nvmlDeviceGetTemp is not a NVML call brixlet makes');
    expect(error.message).toContain('did you mean nvmlDeviceGetTemperature');
    expect(error.details).toEqual([{ path: '/what/api', unknown: 'nvmlDeviceGetTemp', suggestions: expect.arrayContaining(['nvmlDeviceGetTemperature']) }]);
    const dcmi = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { what: { api: 'dcmi_get_device_helth' }, effect: { return: -8005 } } });
    expect([dcmi.statusCode, dcmi.json().error.message]).toEqual([400, expect.stringContaining('did you mean dcmi_get_device_health')]);
    const variant = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: auth, payload: { what: { api: 'nvmlDeviceGetClockInfo(SM)' }, effect: { return: 'GPU_IS_LOST' } } });
    expect(variant.statusCode).toBe(201);
    expect((await a.app.inject({ url: '/v1/faults', headers: auth })).json().rules).toHaveLength(1);
  });

  it('refuses a body over the fault API limit with the limit in the message', async () => {
    const a = await agent();
    const res = await a.app.inject({ method: 'POST', url: '/v1/faults', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ id: 'x'.repeat(70_000), effect: {} }) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'BRX_ERR_HTTP_BODY_TOO_LARGE' });
    expect(res.json().error.message).toContain('65536');
  });
});

describe('presets', () => {
  it('lists every preset with its scope', async () => {
    const a = await agent();
    const { presets } = (await a.app.inject({ url: '/v1/faults/presets', headers: auth })).json();
    expect(presets.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['gpu-lost', 'nvml-init-failure', 'npu-fault', 'recovery-reboot']));
    expect(presets.find((p: { name: string }) => p.name === 'nvml-init-failure')).toMatchObject({ vendor: 'nvidia', scope: 'library', params: { code: expect.any(String) } });
  });

  it('gpu-lost on GPU 3 makes only GPU 3 unhealthy with XID 79, on /metrics too; reset heals it on the next sample', async () => {
    const a = await agent();
    const res = await a.app.inject({ method: 'POST', url: '/v1/faults/presets/gpu-lost', headers: auth, payload: { target: { device: 3 } } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ id: 'gpu-lost.3', what: { class: 'lost' }, effect: { xid: 79 } });
    // Applying it again replaces rather than conflicts.
    expect((await a.app.inject({ method: 'POST', url: '/v1/faults/presets/gpu-lost', headers: auth, payload: { target: { device: 3 } } })).statusCode).toBe(201);
    const s = await a.accel.sampler.sampleNow();
    expect(s.devices.filter((d) => d.health.state !== 'healthy').map((d) => d.identity.index)).toEqual([3]);
    const gpu3 = s.devices.find((d) => d.identity.index === 3)!;
    expect(gpu3.recentXids.map((x) => x.xid)).toEqual([79]);
    expect(gpu3.errors.length).toBeGreaterThan(5);
    expect(new Set(gpu3.errors.map((e) => `${e.code}/${e.value}`))).toEqual(new Set(['GPU_IS_LOST/15']));
    expect(s.devices.find((d) => d.identity.index === 2)!.errors).toEqual([]);

    const metrics = (await a.app.inject('/metrics')).body;
    expect(metrics).toMatch(/^brixlet_accelerator_healthy\{[^}]*index="3"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^brixlet_accelerator_healthy\{[^}]*index="2"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{[^}]*gpu="3"[^}]*\} 79$/m);
    expect(metrics).toMatch(/^brixlet_fault_rules_active 1$/m);
    expect(metrics).toMatch(/^brixlet_fault_injections_total\{rule="gpu-lost\.3",api="nvmlDevice[A-Za-z_]+[^"]*"\} [1-9]/m);

    await a.app.inject({ method: 'POST', url: '/v1/faults/reset', headers: auth });
    const healed = await a.accel.sampler.sampleNow();
    expect(healed.devices.every((d) => d.health.state === 'healthy')).toBe(true);
    const after = (await a.app.inject('/metrics')).body;
    expect(after).toMatch(/^brixlet_accelerator_healthy\{[^}]*index="3"[^}]*\} 1$/m);
    expect(after).toMatch(/^brixlet_fault_rules_active 0$/m);
  });

  it('refuses an unknown preset (404) and a device preset without a device (400)', async () => {
    const a = await agent();
    const unknown = await a.app.inject({ method: 'POST', url: '/v1/faults/presets/gpu-melted', headers: auth, payload: { target: { device: 0 } } });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'BRX_ERR_FAULT_NOT_FOUND']);
    const noTarget = await a.app.inject({ method: 'POST', url: '/v1/faults/presets/gpu-lost', headers: auth, payload: {} });
    expect([noTarget.statusCode, noTarget.json().error.code]).toEqual([400, 'BRX_ERR_FAULT_RULE_INVALID']);
  });
});

describe('AIBrix TOML import', () => {
  it.each(['gpu_mock_conf-0.1.0.toml', 'gpu_mock_conf-0.2.0.toml'])('imports %s as application/toml and text/plain, reporting problems', async (file) => {
    const a = await agent();
    const text = readFileSync(join(fixtures, file), 'utf8');
    for (const type of ['application/toml', 'text/plain; charset=utf-8']) {
      const res = await a.app.inject({ method: 'POST', url: '/v1/faults/import', headers: { ...auth, 'content-type': type }, payload: text });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json();
      expect(body.added.length).toBeGreaterThan(0);
      expect(body.problems.length).toBeGreaterThan(0);
      for (const p of body.problems) expect(p).toEqual({ key: expect.any(String), message: expect.any(String) });
      // Re-importing replaces the same ids: the store does not grow.
      expect(a.faults.engine!.list().map((r) => r.id).sort()).toEqual(body.added.map((r: { id: string }) => r.id).sort());
    }
  });

  it('answers 400 BRX_ERR_FAULT_TOML with the line for broken TOML, and 400 for a JSON body', async () => {
    const a = await agent();
    const res = await a.app.inject({ method: 'POST', url: '/v1/faults/import', headers: { ...auth, 'content-type': 'application/toml' }, payload: 'version = "0.2.0"\n[gpus\n' });
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'BRX_ERR_FAULT_TOML']);
    expect(res.json().error.message).toMatch(/line 2/);
    const json = await a.app.inject({ method: 'POST', url: '/v1/faults/import', headers: auth, payload: { gpus: {} } });
    expect(json.statusCode).toBe(400);
  });
});

describe('trace and rule file', () => {
  it('traces evaluations and writes the rule file for the interposer', async () => {
    const a = await agent();
    await a.app.inject({ method: 'POST', url: '/v1/faults/presets/gpu-lost', headers: auth, payload: { target: { device: 3 } } });
    await a.accel.sampler.sampleNow();
    const { entries } = (await a.app.inject({ url: '/v1/faults/trace?limit=5', headers: auth })).json();
    expect(entries).toHaveLength(5);
    expect(entries[0]).toMatchObject({ rule: 'gpu-lost.3', vendor: 'nvidia', device: 3, applied: true, reason: 'applied' });
    expect((await a.app.inject({ url: '/v1/faults/trace?limit=0', headers: auth })).statusCode).toBe(400);

    await a.faults.flushed();
    const file = JSON.parse(readFileSync(a.ruleFile, 'utf8'));
    expect(file.nvml).toEqual({ returns: [{ id: 'gpu-lost.3', fn: '*', device: 3, code: 15, expiresAtMs: expect.any(Number) }], xids: [{ id: 'gpu-lost.3#xid', device: 3, xid: 79, expiresAtMs: expect.any(Number) }] });
    const generation = file.generation;
    await a.app.inject({ method: 'POST', url: '/v1/faults/reset', headers: auth });
    await a.faults.flushed();
    const cleared = JSON.parse(readFileSync(a.ruleFile, 'utf8'));
    expect(cleared.generation).toBeGreaterThan(generation);
    expect(cleared.nvml.returns).toEqual([]);
  });

  it('publishes every fault route with its schemas in /openapi.json', async () => {
    const a = await agent();
    const spec = (await a.app.inject('/openapi.json')).json();
    for (const p of ['/v1/faults', '/v1/faults/{id}', '/v1/faults/reset', '/v1/faults/presets', '/v1/faults/presets/{name}', '/v1/faults/import', '/v1/faults/trace']) expect(spec.paths[p], p).toBeDefined();
    expect(spec.paths['/v1/faults'].post.requestBody.content['application/json'].schema.properties.effect).toBeDefined();
    expect(Object.keys(spec.paths['/v1/faults/import'].post.requestBody.content)).toEqual(expect.arrayContaining(['application/toml', 'text/plain']));
  });
});
