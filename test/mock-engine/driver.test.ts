import { describe, expect, it } from 'vitest';
import { EngineDriver } from '../../src/mock-engine/driver.js';
import { createEngineModel } from '../../src/mock-engine/model.js';
import { GPU_PROFILES } from '../../src/mock-engine/profiles.js';
import type { ModelEvent } from '../../src/mock-engine/types.js';

const h100 = GPU_PROFILES.h100 as NonNullable<(typeof GPU_PROFILES)['h100']>;
const req = (id: string, outputTokens: number) => ({ id, promptTokens: 100, blockHashes: [], outputTokens });

describe('EngineDriver', () => {
  it('with no latency runs a request to its end inside submit, on a virtual clock', () => {
    const d = new EngineDriver(createEngineModel(h100), Infinity);
    const seen: ModelEvent[] = [];
    d.submit(req('a', 3), (e) => seen.push(e));
    expect(seen.map((e) => e.type)).toEqual(['first-token', 'token', 'token', 'finish']);
    expect(d.now()).toBeCloseTo(5.8 + 7 + 2 * 5.88);
    expect(d.active()).toBe(0);
  });

  it('with a time scale delivers events as model time passes on the clock', async () => {
    const d = new EngineDriver(createEngineModel(h100), 100);
    const seen: ModelEvent[] = [];
    const t0 = performance.now();
    const done = new Promise<number>((resolve) =>
      d.submit(req('a', 50), (e) => {
        seen.push(e);
        if (e.type === 'finish') resolve(performance.now() - t0);
      }),
    );
    expect(seen).toEqual([]);
    const wall = await done;
    const modelMs = 12.8 + 49 * 5.88;
    expect(wall).toBeGreaterThanOrEqual(modelMs / 100 - 1);
    expect((seen.at(-1)?.at ?? 0) - (seen[0]?.at ?? 0)).toBeCloseTo(49 * 5.88, 6); // model time, whatever the timers did
    d.close();
  });

  it('abort stops a request: an aborted event, nothing after it', async () => {
    const d = new EngineDriver(createEngineModel(h100), 1);
    const seen: ModelEvent[] = [];
    d.submit(req('a', 1000), (e) => seen.push(e));
    d.abort('a');
    d.abort('a'); // again: nothing
    expect(seen.map((e) => e.type)).toEqual(['aborted']);
    expect(d.active()).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(1);
    d.close();
  });

  it('rejects a time scale that is not positive', () => {
    expect(() => new EngineDriver(createEngineModel(h100), 0)).toThrow(RangeError);
  });
});
