// `brixlet up --engines N` turns the GPU optimizer on over the engines' GPU types from the profiles
// shipped in profiles/, unless the user's own optimizer settings or --no-optimizer say otherwise.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { decideUpOptimizer, SHIPPED_PROFILE_DIR, shippedProfiles, type UpOptimizerInput } from '../../../src/cli/commands/up-optimizer.js';
import { repoRoot } from '../../helpers/repo.js';
import { LOOPBACK, startService } from '../../helpers/services.js';

const SHIPPED = new Map([
  ['a10', '/pkg/profiles/mock-llama-3-8b-a10.json'],
  ['l20', '/pkg/profiles/mock-llama-3-8b-l20.json'],
]);

function input(flags: Record<string, string | boolean> = {}, over: Partial<UpOptimizerInput> = {}): UpOptimizerInput {
  const { config, sources } = loadConfig({ flags });
  return { engineGpus: ['l20', 'a10', 'l20', 'a10'], model: 'mock-llama-3-8b', namespace: 'default', optimizer: config.optimizer, sources, off: false, shipped: SHIPPED, ...over };
}

describe('decideUpOptimizer', () => {
  it('plans over the shipped profiles of the engines\' GPU types, one deployment per type with its engine count', () => {
    const d = decideUpOptimizer(input());
    expect(d.shipped).toBe(true);
    expect(d.optimizer.profiles).toBe('mock-llama-3-8b=/pkg/profiles/mock-llama-3-8b-l20.json,mock-llama-3-8b=/pkg/profiles/mock-llama-3-8b-a10.json');
    expect(d.optimizer.deployments).toBe('default/engine-l20=mock-llama-3-8b@l20:2,default/engine-a10=mock-llama-3-8b@a10:2');
    expect(d.optimizer.enabled).toBe('auto');
    expect(d.deployments.map((x) => [x.name, x.replicas, x.planned])).toEqual([
      ['engine-l20', 2, true],
      ['engine-a10', 2, true],
    ]);
    expect(d.notes).toEqual([expect.stringContaining('GPU optimizer on with the profiles shipped for l20, a10')]);
  });

  it('keeps the other optimizer settings the user gives (interval, namespace) and names the engines\' model', () => {
    const d = decideUpOptimizer(input({ 'optimizer.interval': '2s', 'optimizer.min': 'a10=1' }, { model: 'llama', namespace: 'llm', engineGpus: ['a10'] }));
    expect(d.optimizer).toMatchObject({ interval: 2000, min: 'a10=1', profiles: 'llama=/pkg/profiles/mock-llama-3-8b-a10.json', deployments: 'llm/engine-a10=llama@a10:1' });
    expect(d.notes[0]).toContain('planned for llama');
  });

  it('leaves a GPU type with no shipped profile as it is and says so; with none at all stays off with the reason', () => {
    const some = decideUpOptimizer(input({}, { engineGpus: ['h100', 'a10'] }));
    expect(some.optimizer.profiles).toBe('mock-llama-3-8b=/pkg/profiles/mock-llama-3-8b-a10.json');
    expect(some.optimizer.deployments).toBe('default/engine-h100=mock-llama-3-8b@h100:1,default/engine-a10=mock-llama-3-8b@a10:1');
    expect(some.notes[0]).toBe('GPU optimizer: no profile is shipped for h100 (shipped: a10, l20); it plans over a10 and leaves the engine-h100 engines as they are');
    const none = decideUpOptimizer(input({}, { engineGpus: ['h100', 'a100'] }));
    expect(none.shipped).toBe(false);
    expect(none.optimizer.profiles).toBe('');
    expect(none.notes).toEqual(['GPU optimizer off: no profile is shipped for h100, a100 (shipped: a10, l20); try --engine-gpus a10,l20, or give --optimizer.profiles']);
  });

  it('is off with --no-optimizer or --optimizer.enabled off, and without engines', () => {
    const off = decideUpOptimizer(input({}, { off: true }));
    expect([off.shipped, off.optimizer.enabled, off.notes]).toEqual([false, 'off', ['GPU optimizer off (--no-optimizer)']]);
    const disabled = decideUpOptimizer(input({ 'optimizer.enabled': 'off' }));
    expect([disabled.shipped, disabled.optimizer.enabled, disabled.optimizer.profiles, disabled.notes]).toEqual([false, 'off', '', []]);
    expect(decideUpOptimizer(input({}, { engineGpus: [] }))).toMatchObject({ shipped: false, notes: [] });
  });

  it('uses the user\'s own --optimizer.profiles or --optimizer.deployments as given', () => {
    const own = decideUpOptimizer(input({ 'optimizer.profiles': 'mine.json' }));
    expect([own.shipped, own.optimizer.profiles, own.optimizer.deployments]).toEqual([false, 'mine.json', '']);
    expect(own.notes[0]).toContain('GPU optimizer on your --optimizer.profiles');
    const deps = decideUpOptimizer(input({ 'optimizer.deployments': 'llm/a=a10' }));
    expect([deps.shipped, deps.optimizer.profiles]).toEqual([false, '']);
  });

  it('stays off, saying why, for a model name the lists cannot hold', () => {
    const d = decideUpOptimizer(input({}, { model: 'a,b' }));
    expect(d.shipped).toBe(false);
    expect(d.notes[0]).toMatch(/^GPU optimizer off: the model name 'a,b' cannot be named/);
  });
});

describe('shippedProfiles', () => {
  it('finds the shipped profiles next to the package, keyed by GPU type', () => {
    expect(SHIPPED_PROFILE_DIR).toBe(join(repoRoot, 'profiles/'));
    const m = shippedProfiles();
    expect(m.get('l20')).toBe(join(repoRoot, 'profiles', 'mock-llama-3-8b-l20.json'));
    expect(m.get('a10')).toBe(join(repoRoot, 'profiles', 'mock-llama-3-8b-a10.json'));
  });

  it('ship with the package', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('profiles');
  });

  it('reads only mock-llama-3-8b-<gpu>.json, and nothing from a missing directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-profiles-'));
    try {
      writeFileSync(join(dir, 'mock-llama-3-8b-l40s.json'), '{}');
      writeFileSync(join(dir, 'other.json'), '{}');
      mkdirSync(join(dir, 'sub'));
      expect([...shippedProfiles(dir).keys()]).toEqual(['l40s']);
      expect(shippedProfiles(join(dir, 'missing')).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('brixlet up --engines 2 --engine-gpus l20,a10 (in-process)', () => {
  const FLAGS = ['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--no-kv.enabled', '--engines', '2', '--engine-gpus', 'l20,a10', '--engine-time-scale', 'inf', ...LOOPBACK];

  it('serves a plan over one deployment per GPU type and lists the optimizer URLs', async () => {
    const svc = await startService(FLAGS);
    try {
      expect(svc.urls).toMatchObject({ optimizer: `${svc.urls.control}/v1/optimizer/plan`, optimizerExplain: `${svc.urls.control}/v1/optimizer/explain` });
      const plan = (await (await fetch(svc.urls.optimizer as string)).json()) as { deployments: { namespace: string; deployment: string; model: string; gpu: string; replicas?: number }[] };
      expect(plan.deployments.map((d) => [d.namespace, d.deployment, d.model, d.gpu, d.replicas])).toEqual([
        ['default', 'engine-a10', 'mock-llama-3-8b', 'a10', 1],
        ['default', 'engine-l20', 'mock-llama-3-8b', 'l20', 1],
      ]);
      const explain = (await (await fetch(svc.urls.optimizerExplain as string)).json()) as { models: { model: string; profiles: { gpu: string; source: string }[] }[] };
      expect(explain.models.map((m) => [m.model, m.profiles.map((p) => [p.gpu, p.source])])).toEqual([
        ['mock-llama-3-8b', [['a10', join(repoRoot, 'profiles', 'mock-llama-3-8b-a10.json')], ['l20', join(repoRoot, 'profiles', 'mock-llama-3-8b-l20.json')]]],
      ]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('--no-optimizer leaves it off', async () => {
    const svc = await startService([...FLAGS, '--no-optimizer']);
    try {
      expect(Object.keys(svc.urls)).toEqual(['gateway', 'control', 'agent', 'engine-0', 'engine-1']);
      expect((await fetch(`${svc.urls.control}/v1/optimizer/plan`)).status).toBe(404);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});
