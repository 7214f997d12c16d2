import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_AVOID_NODES, formatAvoidNodes, formatRestarts, nextRestart, parseAvoidNodes, parseRestarts, templateDrift,
} from '../../../src/coordinator/orchestrator/replica-state.js';
import { ANNOTATION_RESTARTS } from '../../../src/coordinator/orchestrator/types.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const restarts = (raw: string) => parseRestarts({ [ANNOTATION_RESTARTS]: raw });

describe('restart annotation', () => {
  it('reads COUNT,WINDOW_START and writes it back unchanged', () => {
    expect(restarts('2,2026-03-01T10:00:00.000Z')).toEqual({ restarts: 2, windowStartMs: T0 });
    expect(formatRestarts({ restarts: 2, windowStartMs: T0 })).toBe('2,2026-03-01T10:00:00.000Z');
    expect(parseRestarts({ [ANNOTATION_RESTARTS]: formatRestarts({ restarts: 7, windowStartMs: T0 + 1 }) })).toEqual({ restarts: 7, windowStartMs: T0 + 1 });
    expect(formatRestarts({ restarts: 4 })).toBe('4');
    expect(restarts('4')).toEqual({ restarts: 4 });
  });

  it('treats a missing or damaged annotation as no restarts and no window (a hand edit cannot break the reconciler)', () => {
    expect(parseRestarts(undefined)).toEqual({ restarts: 0 });
    expect(parseRestarts({ other: '3' })).toEqual({ restarts: 0 });
    expect(restarts('')).toEqual({ restarts: 0 });
    expect(restarts('-1,2026-03-01T10:00:00.000Z')).toEqual({ restarts: 0, windowStartMs: T0 });
    expect(restarts('1.5')).toEqual({ restarts: 0 });
    expect(restarts('many')).toEqual({ restarts: 0 });
    expect(restarts('1e400')).toEqual({ restarts: 0 });
    expect(restarts('3,yesterday')).toEqual({ restarts: 3 });
    expect(restarts('3,')).toEqual({ restarts: 3 });
  });

  it('counts a repair inside the open window and starts a new window once it has ended', () => {
    const windowSeconds = 60;
    expect(nextRestart({ restarts: 0 }, windowSeconds, T0)).toEqual({ restarts: 1, windowStartMs: T0 });
    expect(nextRestart({ restarts: 2, windowStartMs: T0 }, windowSeconds, T0 + 59_999)).toEqual({ restarts: 3, windowStartMs: T0 });
    // The window is [start, start + window): at its end the count starts over.
    expect(nextRestart({ restarts: 2, windowStartMs: T0 }, windowSeconds, T0 + 60_000)).toEqual({ restarts: 1, windowStartMs: T0 + 60_000 });
    // A count without a window start (an old annotation) starts a window.
    expect(nextRestart({ restarts: 5 }, windowSeconds, T0)).toEqual({ restarts: 1, windowStartMs: T0 });
  });
});

describe('avoid-nodes annotation', () => {
  it('is sorted and free of repeats, so the same set always renders the same template', () => {
    expect(formatAvoidNodes(['n3', 'n1', 'n3', 'n2'])).toBe('n1,n2,n3');
    expect(formatAvoidNodes([])).toBe('');
    expect(parseAvoidNodes({ [ANNOTATION_AVOID_NODES]: 'n1,n2,n3' })).toEqual(['n1', 'n2', 'n3']);
  });

  it('reads an empty, absent or sloppy annotation as the nodes it names', () => {
    expect(parseAvoidNodes(undefined)).toEqual([]);
    expect(parseAvoidNodes({})).toEqual([]);
    expect(parseAvoidNodes({ [ANNOTATION_AVOID_NODES]: '' })).toEqual([]);
    expect(parseAvoidNodes({ [ANNOTATION_AVOID_NODES]: ',n1,,n2,' })).toEqual(['n1', 'n2']);
  });
});

describe('templateDrift', () => {
  const template = { replicas: 2, template: { spec: { containers: [{ name: 'engine', image: 'vllm:1', args: ['a', 'b'] }] } } };

  it('accepts fields the API server or an operator added, at any depth', () => {
    const actual = {
      replicas: 2,
      extra: true,
      template: { metadata: { creationTimestamp: null }, spec: { restartPolicy: 'Always', containers: [{ name: 'engine', image: 'vllm:1', args: ['a', 'b'], imagePullPolicy: 'IfNotPresent' }] } },
    };
    expect(templateDrift(template, actual, '.spec')).toBeUndefined();
  });

  it('names the first path whose value the template sets differently', () => {
    expect(templateDrift(template, { ...template, replicas: 3 }, '.spec')).toBe('.spec.replicas');
    const edited = structuredClone(template);
    edited.template.spec.containers[0]!.image = 'vllm:2';
    expect(templateDrift(template, edited, '.spec')).toBe('.spec.template.spec.containers[0].image');
  });

  it('compares arrays element by element and by length', () => {
    const longer = structuredClone(template);
    longer.template.spec.containers[0]!.args.push('c');
    expect(templateDrift(template, longer, '.spec')).toBe('.spec.template.spec.containers[0].args');
    const swapped = structuredClone(template);
    swapped.template.spec.containers[0]!.args.reverse();
    expect(templateDrift(template, swapped, '.spec')).toBe('.spec.template.spec.containers[0].args[0]');
    expect(templateDrift([1], { 0: 1, length: 1 }, '.x')).toBe('.x');
  });

  it('reports a removed or retyped field, and / for a difference at the root', () => {
    expect(templateDrift(template, { replicas: 2 }, '.spec')).toBe('.spec.template');
    expect(templateDrift({ a: { b: 1 } }, { a: null })).toBe('.a');
    expect(templateDrift({ a: { b: 1 } }, { a: [] })).toBe('.a');
    expect(templateDrift({ a: 1 }, undefined)).toBe('/');
    expect(templateDrift('x', 'y')).toBe('/');
    expect(templateDrift({ n: 1 }, { n: '1' })).toBe('.n');
  });

  it('skips template keys whose value is undefined (an optional field the spec leaves out)', () => {
    expect(templateDrift({ a: 1, b: undefined }, { a: 1 })).toBeUndefined();
    // null is a value: it must be there.
    expect(templateDrift({ a: null }, {})).toBe('.a');
    expect(templateDrift({ a: null }, { a: null })).toBeUndefined();
  });
});
