import { describe, expect, it } from 'vitest';
import { DcmiEvents } from '../../../src/accel/dcmi/events.js';

/** The listener set is private; the tests check it does not grow (a kept listener retains its sampler). */
const listenerCount = (events: DcmiEvents) => (events as unknown as { listeners: Set<unknown> }).listeners.size;

describe('DcmiEvents', () => {
  it('holds each listener until it unsubscribes, once however often it subscribed', () => {
    const events = new DcmiEvents();
    const a = () => undefined;
    const b = () => undefined;
    const offA = events.subscribe(a);
    events.subscribe(a);
    const offB = events.subscribe(b);
    expect(listenerCount(events)).toBe(2);
    expect(offA()).toBeUndefined();
    offA();
    expect(listenerCount(events)).toBe(1);
    offB();
    expect(listenerCount(events)).toBe(0);
  });

  it('drops every listener on clear (backend close)', () => {
    const events = new DcmiEvents();
    events.subscribe(() => undefined);
    events.subscribe(() => undefined);
    events.clear();
    expect(listenerCount(events)).toBe(0);
  });
});
