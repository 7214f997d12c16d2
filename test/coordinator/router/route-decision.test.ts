import { expect, it } from 'vitest';
import { chargeLoad, RoutedRequest } from '../../../src/coordinator/router/route-decision.js';
import { engine } from './fixtures.js';

function routed(e = engine('e1'), uncached = 100, expected = 50, observed: number[] = []): RoutedRequest {
  chargeLoad(e.load, uncached, expected);
  return new RoutedRequest(e, 'least-request', 'r', 0, { hashes: [], blockTokens: 4 }, 1, uncached, expected, {
    observeOutput: (t) => observed.push(t),
  });
}

it('moves prefill to decoding on the first token and releases everything once', () => {
  const e = engine('e1');
  const observed: number[] = [];
  const d = routed(e, 100, 50, observed);
  expect(e.load).toEqual({ inFlight: 1, prefillTokens: 100, decoding: 0, decodeTokens: 50, total: 1 });
  d.firstToken();
  d.firstToken();
  expect(e.load).toEqual({ inFlight: 1, prefillTokens: 0, decoding: 1, decodeTokens: 50, total: 1 });
  d.release(42);
  d.release(42);
  d.firstToken();
  expect(e.load).toEqual({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 1 });
  expect(observed).toEqual([42]);
  expect(d.released).toBe(true);
});

it('releases a request that never got its first token (abort, upstream error)', () => {
  const e = engine('e1');
  const a = routed(e, 30, 10);
  const b = routed(e, 20, 5);
  a.release();
  expect(e.load).toEqual({ inFlight: 1, prefillTokens: 20, decoding: 0, decodeTokens: 5, total: 2 });
  b.firstToken();
  b.release(Number.NaN);
  expect(e.load).toEqual({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 2 });
});

it('never drives counters below zero when the engine\'s counters were reset meanwhile', () => {
  const e = engine('e1');
  const d = routed(e, 100, 50);
  d.firstToken();
  Object.assign(e.load, { inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0 });
  d.release(3);
  expect(e.load).toEqual({ inFlight: 0, prefillTokens: 0, decoding: 0, decodeTokens: 0, total: 1 });
});

it('a late release touches only the engine object it charged, not a successor with the same name', () => {
  const old = engine('e1');
  const d = routed(old);
  const successor = { ...engine('e1'), uid: 'uid-e1-new' };
  successor.load.inFlight = 2;
  d.release();
  expect(successor.load.inFlight).toBe(2);
  expect(old.load.inFlight).toBe(0);
});

it('tells the prefix index once that the prefill ended: at the first token, or at a release before one', () => {
  const e = engine('e1');
  const ended: string[] = [];
  const make = (name: string) => {
    chargeLoad(e.load, 10, 5);
    return new RoutedRequest(e, 'cost', 'r', 0, { hashes: [], blockTokens: 4 }, 1, 10, 5, undefined, 'kv-events', () => ended.push(name));
  };
  const a = make('a');
  const b = make('b');
  a.firstToken();
  a.firstToken();
  a.release(3);
  expect(ended).toEqual(['a']);
  b.release();
  b.firstToken();
  expect(ended).toEqual(['a', 'b']);
});
