import { describe, expect, it } from 'vitest';
import { SimEvents } from '../../../src/accel/sim/events.js';
import type { AccelEvent } from '../../../src/accel/types.js';

const turn = () => new Promise((r) => setImmediate(r));

function collector() {
  const got: AccelEvent[] = [];
  return { got, listener: (e: AccelEvent) => void got.push(e) };
}

describe('SimEvents', () => {
  it('delivers XIDs asynchronously, in order, stamped with the clock at delivery', async () => {
    let now = 100;
    const events = new SimEvents(() => now);
    const c = collector();
    events.on(c.listener);
    events.pushXid(0, 79);
    events.pushXid(3, 48);
    expect(c.got).toEqual([]);
    now = 200;
    await turn();
    expect(c.got).toEqual([
      { kind: 'xid', index: 0, xid: 79, at: 200 },
      { kind: 'xid', index: 3, xid: 48, at: 200 },
    ]);
  });

  it('keeps XIDs queued before anyone listens for the first listener, and delivers them once', async () => {
    const events = new SimEvents(() => 1);
    events.pushXid(1, 74);
    await turn();
    const first = collector();
    events.on(first.listener);
    await turn();
    expect(first.got).toEqual([{ kind: 'xid', index: 1, xid: 74, at: 1 }]);
    const second = collector();
    events.on(second.listener);
    await turn();
    expect(second.got).toEqual([]);
    expect(first.got).toHaveLength(1);
  });

  it('fans out to every listener, and stops delivering to one that unsubscribed', async () => {
    const events = new SimEvents(() => 1);
    const a = collector();
    const b = collector();
    const offA = events.on(a.listener);
    events.on(b.listener);
    events.pushXid(0, 31);
    await turn();
    offA();
    events.pushXid(0, 43);
    await turn();
    expect(a.got.map((e) => e.kind === 'xid' && e.xid)).toEqual([31]);
    expect(b.got.map((e) => e.kind === 'xid' && e.xid)).toEqual([31, 43]);
  });

  it('reports an event-source failure at once', () => {
    const events = new SimEvents();
    const c = collector();
    events.on(c.listener);
    const failure = { kind: 'event-error', error: { api: 'nvmlEventSetWait_v2', code: 'GPU_IS_LOST', value: 15 }, at: 5 } as const;
    events.fail(failure);
    expect(c.got).toEqual([failure]);
  });

  it('clear drops queued XIDs that were not yet delivered', async () => {
    const events = new SimEvents();
    const c = collector();
    events.pushXid(0, 79);
    events.clear();
    events.on(c.listener);
    await turn();
    expect(c.got).toEqual([]);
  });

  it('after close delivers nothing: no queued XIDs, no new ones, no failures', async () => {
    const events = new SimEvents();
    const c = collector();
    events.on(c.listener);
    events.pushXid(0, 79);
    events.close();
    events.pushXid(0, 48);
    events.fail({ kind: 'event-error', error: { api: 'x', code: 'UNKNOWN', value: 999 }, at: 1 });
    await turn();
    expect(c.got).toEqual([]);
  });
});
