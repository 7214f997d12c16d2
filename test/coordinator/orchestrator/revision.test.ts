import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { canonicalJson, randomSuffix, renderSuffix, replicaName, templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import type { ModelFleetSpec } from '../../../src/coordinator/orchestrator/types.js';
import { fleet } from './fleet-fixtures.js';

const base = fleetDefaults(fleet({ env: [{ name: 'A', value: '1' }], nodeSelector: { a: '1', b: '2' } }).spec);

/** The same object with its keys in reverse order, at every level. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
  return v;
}

describe('templateRevision', () => {
  it('is 10 characters of [a-z0-9], the same for the same template', () => {
    const rev = templateRevision(base);
    expect(rev).toMatch(/^[a-z0-9]{10}$/);
    expect(templateRevision(fleetDefaults(fleet({ env: [{ name: 'A', value: '1' }], nodeSelector: { a: '1', b: '2' } }).spec))).toBe(rev);
  });

  it('does not depend on key order', () => {
    expect(templateRevision(reversed(base) as ModelFleetSpec)).toBe(templateRevision(base));
  });

  it('ignores replicas, rollout and restart budget, and defaults written out or left out', () => {
    const rev = templateRevision(base);
    expect(templateRevision({ ...base, replicas: 7 })).toBe(rev);
    expect(templateRevision({ ...base, rollout: { maxSurge: 2, maxUnavailable: 0, paused: true } })).toBe(rev);
    expect(templateRevision({ ...base, restartBudget: { maxRestarts: 9, windowSeconds: 60, backoffSeconds: 1, maxBackoffSeconds: 2 } })).toBe(rev);
    expect(templateRevision(fleetDefaults(fleet({ port: 8000, backend: 'ray' }).spec))).toBe(templateRevision(fleetDefaults(fleet().spec)));
  });

  it('changes with every field the pods run', () => {
    const rev = templateRevision(base);
    const changes: Partial<ModelFleetSpec>[] = [
      { image: 'vllm/vllm-openai:v0.9.0' }, { model: 'x/y' }, { servedModelName: 'z' }, { tensorParallelSize: 16, pipelineParallelSize: 1 }, { gpusPerNode: 4, nodesPerReplica: 4 },
      { backend: 'lws' }, { engineArgs: ['--enforce-eager'] }, { env: [{ name: 'A', value: '2' }] }, { resources: { requests: { cpu: '8' } } }, { nodeSelector: { a: '1' } },
      { tolerations: [{ key: 'k', operator: 'Exists' }] }, { gpuType: 'NVIDIA-A100-SXM4-80GB' }, { port: 8001 }, { startupSeconds: 600 }, { rayVersion: '2.41.0' },
    ];
    const revs = changes.map((c) => templateRevision({ ...base, ...c }));
    for (const r of revs) expect(r).not.toBe(rev);
    expect(new Set(revs).size).toBe(revs.length);
  });

  it('keeps the order of engine arguments meaningful', () => {
    expect(templateRevision({ ...base, engineArgs: ['--a', '--b'] })).not.toBe(templateRevision({ ...base, engineArgs: ['--b', '--a'] }));
  });

  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[{"x":2,"y":1}]},"b":1}');
  });
});

describe('replicaName', () => {
  it('is fleet-revision-suffix when it fits', () => {
    expect(replicaName('llama', 'abcdefghij', 'bcdfg')).toBe('llama-abcdefghij-bcdfg');
    expect(replicaName({ name: 'llama' }, 'abcdefghij', 'bcdfg')).toBe('llama-abcdefghij-bcdfg');
  });

  it('cuts the fleet name to stay within 63 characters, never leaving a dangling dash', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/), (name) => {
        const n = replicaName(name, 'abcdefghij', 'bcdfg');
        expect(n.length).toBeLessThanOrEqual(63);
        expect(n).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
        expect(n).not.toMatch(/--abcdefghij/);
        expect(n.endsWith('-abcdefghij-bcdfg')).toBe(true);
      }),
    );
    expect(replicaName('a'.repeat(45) + '-b' + 'c'.repeat(16), 'abcdefghij', 'bcdfg')).toBe(`${'a'.repeat(45)}-abcdefghij-bcdfg`);
  });
});

describe('suffixes', () => {
  it('random suffixes are 5 characters of an alphabet without vowels', () => {
    for (let i = 0; i < 100; i++) expect(randomSuffix()).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(randomSuffix(() => 0)).toBe('bbbbb');
    expect(randomSuffix(() => 0.999999)).toBe('99999');
  });

  it('render suffixes are stable per fleet, revision and index, and differ between indexes', () => {
    expect(renderSuffix('llama', 'r', 0)).toBe(renderSuffix('llama', 'r', 0));
    expect(renderSuffix('llama', 'r', 0)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(new Set([0, 1, 2, 3].map((i) => renderSuffix('llama', 'r', i))).size).toBe(4);
    expect(renderSuffix('llama', 'r2', 0)).not.toBe(renderSuffix('llama', 'r', 0));
  });
});
