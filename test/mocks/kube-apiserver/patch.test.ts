import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch } from '../../../mocks/kube-apiserver/patch.js';

describe('applyMergePatch (RFC 7386)', () => {
  it('merges objects, deletes null keys, replaces arrays and leaves the input alone', () => {
    const target = { a: 1, b: { c: 2, d: 3 }, list: [1, 2] };
    const out = applyMergePatch(target, { b: { c: null, e: 4 }, list: [9], n: { x: 1 } });
    expect(out).toEqual({ a: 1, b: { d: 3, e: 4 }, list: [9], n: { x: 1 } });
    expect(target).toEqual({ a: 1, b: { c: 2, d: 3 }, list: [1, 2] });
    expect(applyMergePatch({ a: 1 }, 'scalar')).toBe('scalar');
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  it('applies add, remove, replace, move, copy and test, with escaped pointers and "-"', () => {
    const out = applyJsonPatch({ m: { 'a/b': 1, 't~': 2 }, l: [1, 2] }, [
      { op: 'add', path: '/l/-', value: 3 },
      { op: 'add', path: '/l/0', value: 0 },
      { op: 'remove', path: '/m/a~1b' },
      { op: 'replace', path: '/m/t~0', value: 5 },
      { op: 'copy', from: '/m/t~0', path: '/c' },
      { op: 'move', from: '/c', path: '/d' },
      { op: 'test', path: '/l', value: [0, 1, 2, 3] },
    ]);
    expect(out).toEqual({ m: { 't~': 5 }, l: [0, 1, 2, 3], d: 5 });
  });

  it('rejects with 422 a failed test, a missing path, a bad index and a non-array body', () => {
    for (const ops of [[{ op: 'test', path: '/a', value: 2 }], [{ op: 'remove', path: '/nope' }], [{ op: 'replace', path: '/l/5', value: 1 }], { op: 'add' }, [{ op: 'frobnicate', path: '/a' }]]) {
      expect(() => applyJsonPatch({ a: 1, l: [1] }, ops)).toThrow(expect.objectContaining({ code: 422, reason: 'Invalid' }));
    }
  });
});
