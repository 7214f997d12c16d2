import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../src/coordinator/orchestrator/work-queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('orchestrator work queue', () => {
  it('runs a key once however often it is added while queued, never twice at once, and again if added while running', async () => {
    const runs: string[] = [];
    let running = 0;
    let overlap = false;
    let release: () => void = () => undefined;
    const q = new WorkQueue(async (key) => {
      running++;
      if (running > 1) overlap = true;
      runs.push(key);
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
      running--;
    }, { concurrency: 4 });
    q.add('a');
    await tick();
    q.add('a'); // while running: once more afterwards
    q.add('a');
    release();
    await q.whenIdle();
    await tick();
    await q.whenIdle();
    expect(runs).toEqual(['a', 'a']);
    expect(overlap).toBe(false);
    await q.dispose();
  });

  it('retries a failing key with backoff until it succeeds, reporting each error', async () => {
    let calls = 0;
    const errors: number[] = [];
    const q = new WorkQueue(async () => {
      calls++;
      if (calls < 3) throw new Error('conflict');
    }, { retryMs: 5, maxRetryMs: 20, onError: (_k, _e, wait) => errors.push(wait) });
    q.add('f');
    for (let i = 0; i < 200 && calls < 3; i++) await tick(5);
    expect(calls).toBe(3);
    expect(errors).toEqual([5, 10]);
    await q.dispose();
  });

  it('wakes a key after a delay; the earlier of two wake-ups wins; dispose clears them', async () => {
    const runs: string[] = [];
    const q = new WorkQueue(async (key) => void runs.push(key));
    q.addAfter('late', 10_000);
    q.addAfter('late', 5);
    for (let i = 0; i < 200 && runs.length === 0; i++) await tick(5);
    expect(runs).toEqual(['late']);
    q.addAfter('never', 10_000);
    await q.dispose();
    expect(runs).toEqual(['late']);
  });
});
