import { afterEach, describe, expect, it } from 'vitest';
import type { KvReport, NodeReport } from '../../../src/common/node-report.js';
import { createEngineSet, type EngineEvent, type EngineSet, type NodeHealthView } from '../../../src/coordinator/engines/engine-set.js';
import { registryNodeView } from '../../../src/coordinator/engines/node-view.js';
import type { ProbeFetch } from '../../../src/coordinator/engines/probe-http.js';
import type { EngineSpec } from '../../../src/coordinator/engines/types.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';
import { silentLog } from '../../helpers/apps.js';

/** What each scripted engine answers; the engine set's probe client is the seam (the HTTP path is covered in prober.test.ts). */
interface Script {
  health: number | string;
  models?: string[] | number;
  /** LoRA adapters among the models: id → parent (base model), as vLLM lists them. */
  parents?: Record<string, string>;
  metrics?: string;
}

function scripted(scripts: Record<string, Script>): ProbeFetch {
  return async (url) => {
    const u = new URL(url);
    const s = scripts[u.origin];
    if (s === undefined) throw new Error(`connect ECONNREFUSED ${u.host}`);
    if (typeof s.health === 'string') throw new Error(s.health);
    if (u.pathname === '/health') return { status: s.health, body: '' };
    if (u.pathname === '/v1/models') {
      if (typeof s.models === 'number' || s.models === undefined) return { status: s.models ?? 404, body: 'nope' };
      return { status: 200, body: JSON.stringify({ object: 'list', data: s.models.map((id) => ({ id, object: 'model', ...(s.parents?.[id] !== undefined && { parent: s.parents[id] }) })) }) };
    }
    return { status: 200, body: s.metrics ?? '' };
  };
}

const spec = (n: number, extra: Partial<EngineSpec> = {}): EngineSpec => ({
  uid: `http://e${n}:8000`,
  name: `e${n}`,
  url: `http://e${n}:8000`,
  source: 'static',
  ...extra,
});

let set: EngineSet | undefined;
afterEach(async () => {
  await set?.dispose();
  set = undefined;
});

function build(scripts: Record<string, Script>, specs: EngineSpec[], nodes?: NodeHealthView, now?: () => number): EngineSet {
  set = createEngineSet({ specs, log: silentLog, probeInterval: 60_000, fetch: scripted(scripts), ...(nodes && { nodes }), ...(now && { now }) });
  return set;
}

const names = (c: { engines: readonly { name: string }[] }): string[] => c.engines.map((e) => e.name);

describe('EngineSet LoRA adapters', () => {
  it('knows a model as a LoRA adapter while some engine lists it with a parent model', async () => {
    const scripts: Record<string, Script> = {
      'http://e1:8000': { health: 200, models: ['llama', 'sql'], parents: { sql: 'llama' } },
      'http://e2:8000': { health: 200, models: ['llama'] },
    };
    const s = build(scripts, [spec(1), spec(2)]);
    await s.probeNow();
    expect(s.isLoraAdapter('sql')).toBe(true);
    expect(s.isLoraAdapter('llama')).toBe(false);
    expect(names(s.candidates('sql'))).toEqual(['e1']);
    scripts['http://e1:8000']!.models = ['llama'];
    await s.probeNow();
    expect(s.isLoraAdapter('sql')).toBe(false);
  });
});

describe('EngineSet candidates', () => {
  it('lists healthy engines serving the model, and says why when there are none', async () => {
    const scripts: Record<string, Script> = {
      'http://e1:8000': { health: 200, models: ['llama'] },
      'http://e2:8000': { health: 200, models: ['llama', 'qwen'] },
      'http://e3:8000': { health: 200, models: ['qwen'] },
    };
    const s = build(scripts, [spec(3), spec(1), spec(2)]);
    expect(s.candidates('llama')).toEqual({ engines: [], reason: 'no engine serves model llama (models unknown for 3 engine(s): e1 not probed yet; e2 not probed yet; e3 not probed yet)' });
    await s.probeNow();
    expect(names(s.candidates('llama'))).toEqual(['e1', 'e2']);
    expect(names(s.candidates('qwen'))).toEqual(['e2', 'e3']);
    expect(s.candidates('mistral')).toEqual({ engines: [], reason: 'no engine serves model mistral' });
    expect(s.models()).toEqual(['llama', 'qwen']);
    expect(s.all().map((e) => e.name)).toEqual(['e1', 'e2', 'e3']);

    scripts['http://e1:8000']!.health = 503;
    scripts['http://e2:8000']!.health = 'connect ECONNREFUSED 10.0.0.2:8000';
    await s.probeNow();
    expect(s.candidates('llama')).toEqual({
      engines: [],
      reason: '2 engines serve llama, all excluded: e1 /health 503; e2 /health: connect ECONNREFUSED 10.0.0.2:8000',
    });
    expect(s.get('http://e1:8000')).toMatchObject({ healthy: false, excludedBecause: '/health 503' });
    expect(s.knowsModel('llama')).toBe(true); // known, just not healthy: 503 rather than 404
    expect(s.models()).toEqual(['qwen']);

    scripts['http://e1:8000']!.health = 200;
    await s.probeNow('http://e1:8000');
    expect(names(s.candidates('llama'))).toEqual(['e1']);
    expect(s.get('http://e1:8000')?.excludedBecause).toBeUndefined();
  });

  it('keeps the reason short when a large fleet is down', async () => {
    const specs = Array.from({ length: 12 }, (_, i) => spec(i + 10, { models: ['m'] }));
    const s = build({}, specs);
    await s.probeNow();
    const reason = s.candidates('m').reason!;
    expect(reason).toMatch(/^12 engines serve m, all excluded: e10 \/health: connect ECONNREFUSED e10:8000; .*; e17 \/health: connect ECONNREFUSED e17:8000; and 4 more$/);
  });

  it('leaves out engines already tried, and says so when none is left', async () => {
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] }, 'http://e2:8000': { health: 200, models: ['m'] } }, [spec(1), spec(2)]);
    await s.probeNow();
    expect(names(s.candidates('m', new Set(['http://e1:8000'])))).toEqual(['e2']);
    expect(s.candidates('m', new Set(['http://e1:8000', 'http://e2:8000']))).toEqual({ engines: [], reason: 'all 2 engine(s) serving m were already tried' });
    expect(names(s.candidates('m', new Set()))).toEqual(['e1', 'e2']);
  });

  it('returns the same frozen list per model until something changes', async () => {
    const scripts: Record<string, Script> = { 'http://e1:8000': { health: 200, models: ['m'] }, 'http://e2:8000': { health: 200, models: ['m'] } };
    const s = build(scripts, [spec(1), spec(2)]);
    await s.probeNow();
    const a = s.candidates('m');
    expect(s.candidates('m')).toBe(a);
    expect(Object.isFrozen(a.engines)).toBe(true);
    await s.probeNow(); // nothing changed: still the same list
    expect(s.candidates('m')).toBe(a);
    scripts['http://e2:8000']!.health = 500;
    await s.probeNow();
    expect(s.candidates('m')).not.toBe(a);
    expect(names(s.candidates('m'))).toEqual(['e1']);
  });

  it('uses spec models until /v1/models answers, then the answer; keeps the last answer when it fails', async () => {
    const scripts: Record<string, Script> = { 'http://e1:8000': { health: 200, models: 500 }, 'http://e2:8000': { health: 200, models: 500 } };
    const s = build(scripts, [spec(1, { models: ['from-label'] }), spec(2)]);
    await s.probeNow();
    expect(names(s.candidates('from-label'))).toEqual(['e1']);
    // Without a label an engine whose /v1/models never answered serves nothing: unhealthy.
    expect(s.get('http://e2:8000')).toMatchObject({ healthy: false, excludedBecause: '/v1/models 500', models: [] });
    // e2 might serve any model: an unknown name is a 503 with the reason, not a 404, until it lists them.
    expect(s.knowsModel('anything')).toBe(true);
    expect(s.candidates('anything').reason).toContain('models unknown for 1 engine(s): e2');
    scripts['http://e1:8000']!.models = ['served-name'];
    scripts['http://e2:8000']!.models = ['served-name'];
    await s.probeNow();
    expect(s.knowsModel('from-label')).toBe(false);
    expect(names(s.candidates('served-name'))).toEqual(['e1', 'e2']);
    scripts['http://e2:8000']!.models = 502;
    await s.probeNow();
    expect(names(s.candidates('served-name'))).toEqual(['e1', 'e2']);
  });

  it('does not cache lists for models no engine lists (request bodies cannot grow memory)', async () => {
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] } }, [spec(1)]);
    await s.probeNow();
    const first = s.candidates('nope-1');
    expect(s.candidates('nope-1')).not.toBe(first);
    expect(s.knowsModel('nope-1')).toBe(false);
  });
});

describe('EngineSet engine objects', () => {
  it('keeps one EngineState per uid across updates, so load counters stay put', async () => {
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] } }, [spec(1, { gpuType: 'a100' })]);
    await s.probeNow();
    const e = s.get('http://e1:8000')!;
    e.load.inFlight = 3;
    e.load.total = 10;
    s.upsert(spec(1, { gpuType: 'l20', node: 'n1' }));
    await s.probeNow();
    expect(s.get('http://e1:8000')).toBe(e);
    expect(e).toMatchObject({ node: 'n1', speed: { gpuType: 'l20', prefill: 0.4 }, load: { inFlight: 3, total: 10 } });
    expect(s.candidates('m').engines[0]).toBe(e);
  });

  it('carries the KV events endpoint a source declares and announces a change of it', async () => {
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] } }, [spec(1)]);
    await s.probeNow();
    const kinds: string[] = [];
    s.onChange((ev) => kinds.push(ev.kind));
    const e = s.get('http://e1:8000')!;
    expect(e.kvEvents).toBeUndefined();
    s.upsert({ ...spec(1), kvEvents: { endpoint: 'tcp://e1:5557' } });
    expect(e.kvEvents).toEqual({ endpoint: 'tcp://e1:5557' });
    expect(kinds).toEqual(['updated']);
    s.upsert({ ...spec(1), kvEvents: { endpoint: 'tcp://e1:5557' } });
    expect(kinds).toEqual(['updated']);
    s.upsert(spec(1));
    expect(e.kvEvents).toBeUndefined();
    expect(kinds).toEqual(['updated', 'updated']);
  });

  it('gives a removed-then-re-added uid, and a new uid under an old name, fresh counters', async () => {
    const scripts = { 'http://e1:8000': { health: 200, models: ['m'] }, 'http://e9:8000': { health: 200, models: ['m'] } };
    const s = build(scripts, [spec(1)]);
    await s.probeNow();
    const old = s.get('http://e1:8000')!;
    old.load.inFlight = 2;
    s.remove('http://e1:8000');
    expect(old).toMatchObject({ healthy: false, excludedBecause: 'removed' });
    expect(s.candidates('m').engines).toEqual([]);
    s.upsert(spec(1));
    const again = s.get('http://e1:8000')!;
    expect(again).not.toBe(old);
    expect(again.load).toEqual({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 0 });
    expect(again.healthy).toBe(false); // not trusted until probed
    await s.probeNow();
    expect(s.candidates('m').engines).toEqual([again]);

    s.remove('http://e1:8000');
    s.upsert({ ...spec(9), name: 'e1' }); // the same pod name, a new uid (pod recreated)
    await s.probeNow();
    expect(s.candidates('m').engines[0]?.load.inFlight).toBe(0);
    expect(s.candidates('m').engines[0]?.uid).toBe('http://e9:8000');
  });

  it('treats a new URL under the same uid as a new engine', async () => {
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] }, 'http://e2:8000': { health: 200, models: ['m'] } }, [spec(1)]);
    await s.probeNow();
    const old = s.get('http://e1:8000')!;
    s.upsert({ ...spec(1), url: 'http://e2:8000' });
    expect(s.get('http://e1:8000')).not.toBe(old);
    await s.probeNow();
    expect(s.candidates('m').engines[0]?.url).toBe('http://e2:8000');
  });

  it('emits added, healthy, unhealthy, healthy again and removed', async () => {
    const scripts: Record<string, Script> = { 'http://e1:8000': { health: 200, models: ['m'] } };
    const s = build(scripts, []);
    const events: string[] = [];
    s.onChange((e: EngineEvent) => events.push(`${e.kind} ${e.engine.name}`));
    s.upsert(spec(1));
    await s.probeNow();
    scripts['http://e1:8000']!.health = 503;
    await s.probeNow();
    await s.probeNow(); // still down: no second event
    scripts['http://e1:8000']!.health = 200;
    await s.probeNow();
    s.remove('http://e1:8000');
    expect(events).toEqual(['added e1', 'healthy e1', 'unhealthy e1', 'healthy e1', 'removed e1']);
  });

  it('keeps metrics from /metrics on the engine, windowed between probes', async () => {
    const scripts: Record<string, Script> = {
      'http://e1:8000': { health: 200, models: ['m'], metrics: 'vllm:num_requests_running 4\nvllm:time_to_first_token_seconds_sum 10\nvllm:time_to_first_token_seconds_count 10\n' },
    };
    let t = 1_000;
    const s = build(scripts, [spec(1)], undefined, () => t);
    await s.probeNow();
    expect(s.get('http://e1:8000')?.metrics).toEqual({ at: 1_000, running: 4, ttftMean: 1 });
    scripts['http://e1:8000']!.metrics = 'vllm:num_requests_running 1\nvllm:time_to_first_token_seconds_sum 12\nvllm:time_to_first_token_seconds_count 20\n';
    t = 2_000;
    await s.probeNow();
    expect(s.get('http://e1:8000')?.metrics).toEqual({ at: 2_000, running: 1, ttftMean: 0.2 });
    scripts['http://e1:8000']!.metrics = 'not prometheus at all {{{';
    await s.probeNow();
    expect(s.get('http://e1:8000')).toMatchObject({ healthy: true, metrics: { at: 2_000 } });
  });
});

describe('EngineSet and the node registry', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const kv: KvReport = { capacityBytes: 1000, usedBytes: 250, entries: 3, hitRatio: 0.5, policy: 'lru', socket: '/run/kv.sock' };
  const report = (name: string, extra: Partial<NodeReport> = {}): NodeReport => ({ name, agentUrl: `http://${name}:9464`, version: '1', components: [], heartbeatMs: 1000, ...extra });
  const gpu = (index: number, health: 'healthy' | 'unhealthy') => ({ vendor: 'nvidia' as const, index, uuid: `GPU-${index}`, name: 'H100', health, reasons: health === 'unhealthy' ? ['XID 79'] : [] });

  it('excludes engines on stale nodes and on unhealthy GPUs, and takes them back on recovery', async () => {
    let t = T0;
    const reg = new Registry({ now: () => t, sweepTimer: false, staleAfter: 3 });
    const scripts: Record<string, Script> = {
      'http://e1:8000': { health: 200, models: ['m'] },
      'http://e2:8000': { health: 200, models: ['m'] },
      'http://e3:8000': { health: 200, models: ['m'] },
      'http://e4:8000': { health: 200, models: ['m'] },
    };
    reg.upsertNode(report('n1', { kv }));
    reg.upsertNode(report('n2', { accelerators: [gpu(0, 'healthy'), gpu(1, 'unhealthy')] }));
    const s = build(scripts, [spec(1, { node: 'n1' }), spec(2, { node: 'n2', gpus: ['GPU-0'] }), spec(3, { node: 'n2', gpus: ['GPU-1'] }), spec(4)], registryNodeView(reg), () => t);
    await s.probeNow();
    expect(names(s.candidates('m'))).toEqual(['e1', 'e2', 'e4']);
    expect(s.get('http://e3:8000')?.excludedBecause).toBe('unhealthy on node n2: GPU 1 (GPU-1): XID 79');
    expect(s.get('http://e1:8000')?.kv).toEqual({ capacityBytes: 1000, usedBytes: 250, hitRatio: 0.5 });

    t += 3500; // n1 and n2 silent past 3 heartbeats
    reg.sweep();
    expect(names(s.candidates('m'))).toEqual(['e4']);
    expect(s.get('http://e1:8000')?.excludedBecause).toBe('node n1 is stale (no agent report for 4 s)');

    reg.upsertNode(report('n1', { kv: { ...kv, usedBytes: 900 } }));
    reg.upsertNode(report('n2', { accelerators: [gpu(0, 'healthy'), gpu(1, 'healthy')] }));
    expect(names(s.candidates('m'))).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(s.get('http://e1:8000')?.kv?.usedBytes).toBe(900);
    reg.dispose();
  });

  it('re-reads a node view that cannot notify every 250 ms', async () => {
    let t = T0;
    let down = false;
    const nodes: NodeHealthView = { isRoutable: () => (down ? { ok: false, reason: 'node n1 is on fire' } : { ok: true }) };
    const s = build({ 'http://e1:8000': { health: 200, models: ['m'] } }, [spec(1, { node: 'n1' })], nodes, () => t);
    await s.probeNow();
    expect(names(s.candidates('m'))).toEqual(['e1']);
    down = true;
    t += 100;
    expect(names(s.candidates('m'))).toEqual(['e1']); // cached within the window
    t += 200;
    expect(s.candidates('m')).toEqual({ engines: [], reason: '1 engine serves m, all excluded: e1 node n1 is on fire' });
  });
});

describe('EngineSet lifecycle', () => {
  it('probes on start and every interval, and stops on dispose', async () => {
    let calls = 0;
    const fetch: ProbeFetch = async (url) => {
      if (url.endsWith('/health')) calls++;
      return { status: 200, body: url.endsWith('/v1/models') ? '{"data":[{"id":"m"}]}' : '' };
    };
    const s = createEngineSet({ specs: [spec(1)], log: silentLog, probeInterval: 20, fetch });
    set = s;
    s.start();
    await expect.poll(() => calls, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(names(s.candidates('m'))).toEqual(['e1']);
    await s.dispose();
    const after = calls;
    await new Promise((r) => setTimeout(r, 80));
    expect(calls).toBe(after);
  });

  it('never overlaps the probes of one engine, however slow it answers', async () => {
    let active = 0;
    let maxActive = 0;
    let probes = 0;
    const fetch: ProbeFetch = async (url) => {
      if (url.endsWith('/health')) {
        active++;
        probes++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 30));
        active--;
      }
      return { status: 200, body: '{"data":[{"id":"m"}]}' };
    };
    const s = createEngineSet({ specs: [spec(1)], log: silentLog, probeInterval: 5, fetch });
    set = s;
    s.start();
    await Promise.all([s.probeNow(), s.probeNow(), s.probeNow()]);
    await expect.poll(() => probes, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    expect(maxActive).toBe(1);
  });
});
