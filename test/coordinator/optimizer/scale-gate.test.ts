import { describe, expect, it } from 'vitest';
import { ask, newGate, scaleDownAt, settle } from '../../../src/coordinator/optimizer/scale-gate.js';

const WINDOW = 120_000;

describe('scale gate', () => {
  it('scales up at once and cancels a pending scale-down', () => {
    const g = newGate(2);
    expect(ask(g, 1, 0, WINDOW)).toBe(2);
    expect(scaleDownAt(g, WINDOW)).toBe(WINDOW);
    expect(ask(g, 5, 10_000, WINDOW)).toBe(5);
    expect(scaleDownAt(g, WINDOW)).toBeUndefined();
  });

  it('scales down only after the lower count was asked for a whole window, to the highest count asked in it', () => {
    const g = newGate(6);
    expect(ask(g, 2, 0, WINDOW)).toBe(6);
    expect(ask(g, 4, 60_000, WINDOW)).toBe(6);
    expect(ask(g, 3, 119_999, WINDOW)).toBe(6);
    expect(settle(g, WINDOW, WINDOW)).toBe(4);
    expect(scaleDownAt(g, WINDOW)).toBeUndefined();
  });

  it('applies a cap at once, even above a pending scale-down', () => {
    const g = newGate(6);
    expect(ask(g, 8, 0, WINDOW, 3)).toBe(3);
    expect(ask(g, 2, 1_000, WINDOW, 3)).toBe(3);
    expect(settle(g, 1_000 + WINDOW, WINDOW, 3)).toBe(2);
    const h = newGate(6);
    ask(h, 5, 0, WINDOW);
    expect(settle(h, 1, WINDOW, 4)).toBe(4);
    expect(scaleDownAt(h, WINDOW)).toBeUndefined(); // the cap went below the pending count: nothing left to wait for
  });
});
