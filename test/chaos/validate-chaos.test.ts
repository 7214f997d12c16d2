import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ioChaos } from '../../src/chaos/io-chaos.js';
import { networkChaos } from '../../src/chaos/network-chaos.js';
import { podChaos } from '../../src/chaos/pod-chaos.js';
import { scheduleChaos } from '../../src/chaos/schedule-chaos.js';
import { stressChaos } from '../../src/chaos/stress-chaos.js';
import { validateChaos } from '../../src/chaos/validate-chaos.js';
import { BrixletError } from '../../src/common/errors.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const caught = (fn: () => unknown): BrixletError => {
  try {
    fn();
  } catch (e) {
    return e as BrixletError;
  }
  throw new Error('expected an error');
};

const valid = () => ({
  apiVersion: 'chaos-mesh.org/v1alpha1',
  kind: 'PodChaos',
  metadata: { name: 'kill', namespace: 'serving' },
  spec: { action: 'pod-kill', mode: 'one', selector: { namespaces: ['serving'] } },
});

describe('validateChaos', () => {
  it('returns a valid object unchanged', () => {
    const obj = valid();
    expect(validateChaos(obj)).toBe(obj);
  });

  it('reports every problem at once, with the kind, name and source, as BRX_ERR_CHAOS_INVALID (exit 2)', () => {
    const obj = valid();
    Object.assign(obj.spec, { mode: 'fixed', durtion: '30s' });
    Object.assign(obj.metadata, { name: 'Kill_Head' });
    const err = caught(() => validateChaos({ ...obj, apiVersion: 'chaos-mesh.org/v1' }, { source: 'x.yaml' }));
    expect(err.code).toBe('BRX_ERR_CHAOS_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      "invalid PodChaos serving/Kill_Head (x.yaml): apiVersion must be chaos-mesh.org/v1alpha1, got \"chaos-mesh.org/v1\"; metadata.name 'Kill_Head' must be lower-case letters, digits, '-' and '.', starting and ending alphanumeric, at most 253 characters; spec.durtion: unexpected property",
    );
    expect(err.details).toHaveLength(3);
  });

  it('names allowed values for enums and refuses unknown kinds, non-objects and missing names', () => {
    const obj = valid();
    obj.spec.action = 'gpu-xid';
    expect(caught(() => validateChaos(obj)).message).toContain('spec.action: must be one of pod-kill, pod-failure, container-kill, got "gpu-xid"');
    expect(caught(() => validateChaos({ ...valid(), kind: 'HTTPChaos' })).message).toContain('kind "HTTPChaos" is not supported; supported: PodChaos, NetworkChaos, StressChaos, IOChaos, Schedule');
    expect(caught(() => validateChaos([valid()])).message).toBe('invalid object (unnamed): expected an object, got an array');
    expect(caught(() => validateChaos({ ...valid(), metadata: { namespace: 'a' } })).message).toContain('metadata.name is missing');
    expect(validateChaos({ ...valid(), metadata: { generateName: 'kill-' } }).metadata).toEqual({ generateName: 'kill-' });
  });

  it('requires values with their operator in expression selectors and a positive duration', () => {
    const obj = valid();
    Object.assign(obj.spec, { duration: '0s', selector: { expressionSelectors: [{ key: 'tier', operator: 'In' }, { key: 'gpu', operator: 'Exists', values: ['x'] }] } });
    const msg = caught(() => validateChaos(obj)).message;
    expect(msg).toContain('operator In needs values (key tier)');
    expect(msg).toContain('operator Exists takes no values (key gpu)');
    expect(msg).toContain("spec.duration must be a positive Go duration such as 30s, 5m or 1h30m, got '0s'");
  });
});

// Builder inputs drawn at random, sane and not: whatever a builder accepts must pass the CRD.
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const mode = fc.constantFrom('one', 'all', 'fixed', 'fixed-percent', 'random-max-percent' as const);
const value = fc.option(fc.oneof(fc.integer({ min: -5, max: 150 }), fc.constantFrom('1', '50', 'x', '')), { nil: undefined });
// Mostly sane, sometimes not: both the accepting and the refusing paths get exercised.
const modeAndValue = fc.oneof(
  { weight: 3, arbitrary: fc.record({ mode: fc.constantFrom('one' as const, 'all' as const) }) },
  { weight: 1, arbitrary: fc.record({ mode, value }) },
);
const duration = fc.option(fc.constantFrom('30s', '1m30s', '250ms', '2h', '0s', 'soon', '10'), { nil: undefined });
const selector = fc.record(
  {
    namespaces: fc.array(fc.constantFrom('serving', 'ops', 'serving', 'Bad_NS'), { maxLength: 2 }),
    labelSelectors: fc.dictionary(fc.constantFrom('app', 'tier', 'ray.io/node-type'), fc.constantFrom('head', 'agent', '')),
    pods: fc.dictionary(fc.constantFrom('serving', 'ops'), fc.array(fc.constantFrom('p-0', 'p-1'), { maxLength: 2 })),
    nodes: fc.array(fc.constantFrom('gpu-1', 'gpu-2'), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const common = fc
  .tuple(fc.record({ name, namespace: fc.option(fc.constantFrom('serving', 'ops'), { nil: undefined }), selector, duration }), modeAndValue)
  .map(([c, m]) => ({ ...c, ...m }));

const builds = fc.oneof(
  fc.tuple(common, fc.constantFrom('pod-kill', 'pod-failure', 'container-kill'), fc.option(fc.integer({ min: -2, max: 60 }), { nil: undefined }), fc.array(fc.constantFrom('vllm', 'agent'), { maxLength: 2 })).map(
    ([c, action, gracePeriod, containerNames]) => () => podChaos({ ...c, action, gracePeriod, containerNames } as never),
  ),
  fc.tuple(
    common,
    fc.constantFrom('delay', 'loss', 'partition', 'bandwidth'),
    fc.option(fc.constantFrom('to', 'from', 'both'), { nil: undefined }),
    fc.option(fc.tuple(fc.record({ selector }), modeAndValue).map(([t, m]) => ({ ...t, ...m })), { nil: undefined }),
    fc.constantFrom('100ms', '1.5ms', 'fast', '2s'),
    fc.oneof(fc.integer({ min: -10, max: 150 }), fc.constantFrom('0.5', 'lots')),
    fc.constantFrom('1mbps', '10kbit', 'quick'),
    fc.integer({ min: -1, max: 2 ** 31 }),
  ).map(([c, action, direction, target, latency, pct, rate, n]) => () =>
    networkChaos({ ...c, action, direction, target, delay: { latency, jitter: latency, correlation: pct }, loss: { loss: pct }, bandwidth: { rate, limit: n, buffer: Math.max(1, n) } } as never),
  ),
  fc.tuple(common, fc.integer({ min: 0, max: 9000 }), fc.integer({ min: -10, max: 120 }), fc.constantFrom('256MB', '1GiB', '50%', '0%', 'big'), fc.boolean(), fc.boolean()).map(
    ([c, workers, load, size, cpu, mem]) => () => stressChaos({ ...c, cpu: cpu ? { workers, load } : undefined, memory: mem ? { workers, size, oomScoreAdj: load * 10 } : undefined }),
  ),
  fc.tuple(common, fc.constantFrom('latency', 'fault'), fc.constantFrom('/models', 'models', '/dev/shm'), fc.integer({ min: -1, max: 140 }), fc.array(fc.constantFrom('read', 'write', 'open', 'bogus'), { maxLength: 2 })).map(
    ([c, action, volumePath, n, methods]) => () => ioChaos({ ...c, action, volumePath, delay: `${n}ms`, errno: n, percent: n, methods } as never),
  ),
);

describe.skipIf(!HAVE_CRDS)(`validation agrees with the CRDs${SKIP_REASON}`, () => {
  it('whatever a builder accepts passes the CRD, also when wrapped in a Schedule', () => {
    let accepted = 0;
    fc.assert(
      fc.property(builds, fc.boolean(), (build, wrap) => {
        let obj: ReturnType<typeof podChaos> | ReturnType<typeof scheduleChaos>;
        try {
          obj = build() as typeof obj;
        } catch (e) {
          expect((e as BrixletError).code).toBe('BRX_ERR_CHAOS_INVALID');
          return;
        }
        accepted++;
        const checked = wrap ? scheduleChaos({ schedule: '@every 5m', experiment: obj as never }) : obj;
        expect(crdErrors(checked)).toEqual([]);
      }),
      { numRuns: 600, seed: 20240605 },
    );
    // The generator must exercise the accepting path too, not only the refusals.
    expect(accepted).toBeGreaterThan(100);
  });

  it('what the CRD rejects, validateChaos rejects too (random corruptions of valid objects)', () => {
    const base = [
      podChaos({ name: 'k', namespace: 'a', action: 'pod-kill', gracePeriod: 5, mode: 'fixed', value: 2, selector: { expressionSelectors: [{ key: 'k', operator: 'In', values: ['v'] }] } }),
      podChaos({ name: 'p', namespace: 'a', action: 'container-kill', containerNames: ['c'], duration: '1m', selector: { labelSelectors: { x: 'y' } } }),
      networkChaos({ name: 'n', namespace: 'a', action: 'bandwidth', direction: 'both', bandwidth: { rate: '1mbps', limit: 10, buffer: 10 }, selector: { namespaces: ['a'] }, target: { selector: { pods: { a: ['p'] } } } }),
      stressChaos({ name: 's', namespace: 'a', cpu: { workers: 1, load: 10 }, memory: { workers: 1, size: '1GB', oomScoreAdj: 0 }, selector: { nodes: ['n'] } }),
      ioChaos({ name: 'i', namespace: 'a', action: 'latency', delay: '1s', volumePath: '/v', percent: 10, methods: ['read'], selector: { namespaces: ['a'] } }),
    ];
    const leaves = (o: unknown, at: string[] = []): string[][] =>
      o !== null && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => [[...at, k], ...leaves(v, [...at, k])]) : [];
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer({ min: -(2 ** 32), max: 2 ** 32 }), fc.string({ maxLength: 4 }), fc.constant({}), fc.constant([]), fc.constant([1]), fc.constant({ z: 1 }));
    let crdRejected = 0;
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(1000), junk, (i, pick, replacement) => {
        const obj = structuredClone(base[i]!) as unknown as Record<string, unknown>;
        const paths = leaves(obj.spec, ['spec']);
        const path = paths[pick % paths.length]!;
        let parent = obj as Record<string, unknown>;
        for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
        const key = path.at(-1)!;
        if (replacement === undefined) delete parent[key];
        else parent[key] = replacement;
        if (crdErrors(obj).length === 0) return;
        crdRejected++;
        expect(() => validateChaos(obj), path.join('.')).toThrow(BrixletError);
      }),
      { numRuns: 400, seed: 7 },
    );
    expect(crdRejected).toBeGreaterThan(100);
  });
});
