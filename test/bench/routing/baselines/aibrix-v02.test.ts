import { describe, expect, it } from 'vitest';
import { aibrixV02, independentBlockHashes } from '../../../../bench/routing/baselines/aibrix-v02.js';
import { engines, req, scripted } from './helpers.js';

const B = (c: string) => c.repeat(16);

describe('AIBrix v0.2 prefix-cache reproduction', () => {
  it('hashes blocks independently: equal text anywhere gives the same hash', () => {
    const h = independentBlockHashes(B('a') + B('b') + B('a') + 'tail', 16);
    expect(h).toHaveLength(3);
    expect(h[0]).toBe(h[2]);
    expect(h[0]).not.toBe(h[1]);
  });

  it('above 50 % matched: a random pod among those of the last matched block', () => {
    const es = engines(4);
    // First request: random pod (0.6 → index 2); all its blocks recorded for pod 2.
    const p = aibrixV02({ random: scripted(0.6, 0.0) });
    expect(p.choose(req(B('a') + B('b') + B('c')), es, 0).engine).toBe(2);
    // 2 of 3 blocks (67 %) match → the matched pods ([2]) → pod 2 whatever the draw.
    expect(p.choose(req(B('a') + B('b') + B('x')), es, 1).engine).toBe(2);
  });

  it('at or below 50 % a random pod, and a false match on a repeated block counts', () => {
    const es = engines(4);
    const p = aibrixV02({ random: scripted(0.9, 0.3, 0.3) });
    expect(p.choose(req(B('a') + B('b')), es, 0).engine).toBe(3);
    // 1 of 2 blocks = 50 %: not above the threshold → random (0.3 → pod 1).
    expect(p.choose(req(B('a') + B('z')), es, 1).engine).toBe(1);
    // Text "b" first: block b was recorded for pod 3 at another position; independent hashes match it.
    // b, a, b = 3 of 3 blocks present → matched pods of the last block (b: pod 3) → 3.
    expect(p.choose(req(B('b') + B('a') + B('b')), es, 2).engine).toBe(3);
  });

  it('forgets blocks idle for an hour', () => {
    const es = engines(4);
    const p = aibrixV02({ random: scripted(0.6, 0.1, 0.1) });
    expect(p.choose(req(B('a') + B('b')), es, 0).engine).toBe(2);
    expect(p.choose(req(B('a') + B('b')), es, 61 * 60_000).engine).toBe(0);
  });
});
