import { describe, expect, it } from 'vitest';
import { parseFieldSelector, parseLabelSelector } from '../../../mocks/kube-apiserver/selectors.js';

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}): unknown => ({ metadata: { name: 'n', namespace: 'ns', labels }, ...extra });

describe('parseLabelSelector', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['', {}, true],
    ['a=1', { a: '1' }, true],
    ['a==1', { a: '2' }, false],
    ['a!=1', {}, true],
    ['a in (1, 2),b', { a: '2', b: '' }, true],
    ['a in (1,2)', {}, false],
    ['a notin (1,2)', {}, true],
    ['a notin (1,2)', { a: '1' }, false],
    ['!a', { a: 'x' }, false],
    ['app.kubernetes.io/name=vllm,tier', { 'app.kubernetes.io/name': 'vllm', tier: 'h' }, true],
  ];
  it.each(cases)('%s on %o is %s', (selector, labels, want) => {
    expect(parseLabelSelector(selector)(obj(labels))).toBe(want);
  });

  it('rejects garbage with a 400 Status error', () => {
    expect(() => parseLabelSelector('a in (1')).toThrow(expect.objectContaining({ code: 400 }));
    expect(() => parseLabelSelector('a = = b')).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe('parseFieldSelector', () => {
  it('compares dotted paths with =, == and !=', () => {
    const o = obj({}, { spec: { nodeName: 'gpu-1' } });
    expect(parseFieldSelector('metadata.name=n,metadata.namespace==ns')(o)).toBe(true);
    expect(parseFieldSelector('spec.nodeName!=gpu-1')(o)).toBe(false);
    expect(parseFieldSelector('spec.missing=')(o)).toBe(true);
    expect(() => parseFieldSelector('nonsense')).toThrow(expect.objectContaining({ code: 400 }));
  });
});
