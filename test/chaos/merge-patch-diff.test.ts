import { describe, expect, it } from 'vitest';
import { mergePatchDiff } from '../../src/chaos/merge-patch-diff.js';

describe('mergePatchDiff', () => {
  it('is undefined when nothing changes, whatever the key order', () => {
    expect(mergePatchDiff({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
  });

  it('sets changed values, nulls removed keys, and replaces lists whole', () => {
    const from = { action: 'delay', delay: { latency: '10ms', jitter: '1ms' }, selector: { namespaces: ['a', 'b'] }, duration: '1m' };
    const to = { action: 'delay', delay: { latency: '20ms' }, selector: { namespaces: ['a'] } };
    expect(mergePatchDiff(from, to)).toEqual({ delay: { latency: '20ms', jitter: null }, selector: { namespaces: ['a'] }, duration: null });
  });

  it('replaces a value whose type changes', () => {
    expect(mergePatchDiff({ a: { b: 1 } }, { a: 'x' })).toEqual({ a: 'x' });
    expect(mergePatchDiff({ a: 'x' }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
  });
});
