import { describe, expect, it } from 'vitest';
import { LiveAttempts, type Stoppable } from '../../../src/coordinator/gateway/upstream-call.js';

const attempt = (name: string, stopped: string[]): Stoppable & { name: string } => ({ name, stop: () => void stopped.push(name) });

describe('LiveAttempts', () => {
  it('adds, removes from any position once, and lists what is left', () => {
    const live = new LiveAttempts();
    const stopped: string[] = [];
    const a = attempt('a', stopped);
    const b = attempt('b', stopped);
    const c = attempt('c', stopped);
    live.add(a);
    live.add(b);
    live.add(c);
    expect(live.size).toBe(3);
    live.delete(b);
    live.delete(b);
    expect(live.size).toBe(2);
    expect(live.toArray()).toEqual([c, a]);
    live.delete(c);
    live.delete(a);
    expect(live.size).toBe(0);
    expect(live.toArray()).toEqual([]);
    // Never added: a no-op.
    live.delete(attempt('d', stopped));
    expect(live.size).toBe(0);
  });

  it('lets attempts leave while the copy is iterated (shutdown stops every one)', () => {
    const live = new LiveAttempts();
    const stopped: string[] = [];
    const items = ['a', 'b', 'c'].map((n) => {
      const s: Stoppable = { stop: () => (stopped.push(n), live.delete(s)) };
      live.add(s);
      return s;
    });
    for (const s of live.toArray()) s.stop(undefined as never);
    expect(stopped.sort()).toEqual(['a', 'b', 'c']);
    expect(live.size).toBe(0);
    expect(items[0]?.liveNext).toBeUndefined();
  });
});
