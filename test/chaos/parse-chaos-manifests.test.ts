import { describe, expect, it } from 'vitest';
import { parseChaosManifests } from '../../src/chaos/parse-chaos-manifests.js';

const pod = (name: string, extra = '') => `apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
  name: ${name}
spec:
  action: pod-kill
  mode: one
  selector:
    labelSelectors:
      app: vllm${extra}
`;

const err = (fn: () => unknown): { code?: string; message: string } => {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  return { message: 'no error' };
};

describe('parseChaosManifests', () => {
  it('reads many YAML documents, skipping empty ones', () => {
    const objs = parseChaosManifests(`---\n${pod('a')}---\n# nothing\n---\n${pod('b')}`, 'f.yaml');
    expect(objs.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(objs[0]?.spec).toMatchObject({ selector: { labelSelectors: { app: 'vllm' } } });
  });

  it('reads JSON objects, arrays and List kinds', () => {
    const a = { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'a' }, spec: { action: 'pod-kill', mode: 'all', selector: { namespaces: ['x'] } } };
    expect(parseChaosManifests(JSON.stringify(a), 'a.json')).toHaveLength(1);
    expect(parseChaosManifests(JSON.stringify([a, { ...a, metadata: { name: 'b' } }]), 'a.json')).toHaveLength(2);
    expect(parseChaosManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [a] }), 'a.json')[0]?.metadata.name).toBe('a');
  });

  it('reports every invalid object with its position, syntax errors and empty files', () => {
    const e = err(() => parseChaosManifests(`${pod('ok')}---\n${pod('bad1', '\n  duration: forever')}---\n${pod('Bad2')}`, 'f.yaml'));
    expect(e.code).toBe('BRX_ERR_CHAOS_INVALID');
    expect(e.message).toContain('invalid manifest f.yaml: 2 of 3 objects are invalid: ');
    expect(e.message).toContain("invalid PodChaos bad1 (f.yaml object 2): spec.duration must be a positive Go duration");
    expect(e.message).toContain("invalid PodChaos Bad2 (f.yaml object 3): metadata.name 'Bad2'");
    expect(err(() => parseChaosManifests(pod('solo', '\n  gracePeriod: -3'), 'g.yaml')).message).toBe('invalid PodChaos solo (g.yaml): spec.gracePeriod: expected integer to be greater or equal to 0');
    // A key given twice is a mistake YAML parsers usually hide by keeping the last one.
    expect(err(() => parseChaosManifests(pod('dup', '\n  mode: all'), 'd.yaml')).message).toBe('invalid manifest d.yaml: document 1 is not valid YAML or JSON: Map keys must be unique');
    expect(err(() => parseChaosManifests('kind: [unclosed', 'h.yaml')).message).toMatch(/^invalid manifest h\.yaml: document 1 is not valid YAML or JSON/);
    expect(err(() => parseChaosManifests('# only a comment\n', 'e.yaml')).message).toBe('invalid manifest e.yaml: it holds no objects');
  });
});
