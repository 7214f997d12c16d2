import { describe, expect, it } from 'vitest';
import { FailureInjector, parseFailureSpec } from '../../src/mock-engine/failures.js';

describe('parseFailureSpec', () => {
  it('reads mode, status and count, and "none" to disarm', () => {
    expect(parseFailureSpec({ mode: 'status', status: 503, count: 2 })).toEqual({ mode: 'status', status: 503, count: 2 });
    expect(parseFailureSpec({ mode: 'reset' })).toEqual({ mode: 'reset' });
    expect(parseFailureSpec({ mode: 'none' })).toMatchObject({ count: 0 });
  });

  it('says what is wrong', () => {
    expect(parseFailureSpec([])).toBe('body must be a JSON object');
    expect(parseFailureSpec({ mode: 'boom' })).toMatch(/^mode must be one of reset, status, midstream/);
    expect(parseFailureSpec({ mode: 'status', status: 200 })).toMatch(/400 to 599/);
    expect(parseFailureSpec({ mode: 'reset', count: -1 })).toMatch(/non-negative/);
  });
});

describe('FailureInjector', () => {
  it('fails exactly the next N requests', () => {
    const f = new FailureInjector();
    expect(f.take()).toBeUndefined();
    f.arm({ mode: 'status', count: 2 });
    expect(f.pending()).toBe(2);
    expect(f.take()).toEqual({ mode: 'status', status: 500 });
    expect(f.take()).toEqual({ mode: 'status', status: 500 });
    expect(f.take()).toBeUndefined();
    expect(f.injected).toBe(2);
    f.arm({ mode: 'reset', count: 3 });
    f.arm({ mode: 'reset', count: 0 });
    expect(f.pending()).toBe(0);
    expect(f.take()).toBeUndefined();
  });
});
