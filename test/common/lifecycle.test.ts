import { describe, expect, it, vi } from 'vitest';
import { DisposableStore, drain, handleShutdownSignals, toDisposable } from '../../src/common/lifecycle.js';
import { createLogger } from '../../src/common/logger.js';
import { Capture } from '../helpers/capture.js';

function logger() {
  const out = new Capture();
  return { out, log: createLogger({ level: 'info', format: 'json', stream: out }) };
}

describe('DisposableStore', () => {
  it('disposes in reverse order of addition, once', async () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.add(toDisposable('a', () => void order.push('a')));
    store.add(toDisposable('b', async () => void order.push('b')));
    store.add(toDisposable('c', () => void order.push('c')));
    await store.dispose();
    await store.dispose();
    expect(order).toEqual(['c', 'b', 'a']);
    expect(store.isDisposed).toBe(true);
  });

  it('keeps disposing after a failure and reports every failure', async () => {
    const order: string[] = [];
    const store = new DisposableStore('t');
    store.add(toDisposable('a', () => void order.push('a')));
    store.add(toDisposable('b', () => { throw new Error('b failed'); }));
    store.add(toDisposable('c', () => { throw new Error('c failed'); }));
    await expect(store.dispose()).rejects.toThrow(/2 resources failed to close in t/);
    expect(order).toEqual(['a']);
  });

  it('releases a resource added after disposal instead of leaking it', async () => {
    const store = new DisposableStore();
    await store.dispose();
    let released = false;
    store.add(toDisposable('late', () => { released = true; }));
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(true);
  });
});

describe('drain', () => {
  it('returns 0 after a clean drain and calls beforeDrain first', async () => {
    const { log } = logger();
    const order: string[] = [];
    const store = new DisposableStore();
    store.add(toDisposable('listener', () => void order.push('close')));
    const code = await drain({ log, timeoutMs: 1000, store, beforeDrain: () => order.push('unready') });
    expect(code).toBe(0);
    expect(order).toEqual(['unready', 'close']);
  });

  it('returns 1 and names what is still pending on timeout', async () => {
    const { log, out } = logger();
    const store = new DisposableStore();
    store.add(toDisposable('kv socket', () => new Promise<void>(() => {})));
    store.add(toDisposable('agent listener', () => undefined));
    // The pending close never settles: returning at all proves the timeout ended the drain.
    const code = await drain({ log, timeoutMs: 150, store });
    expect(code).toBe(1);
    const rec = JSON.parse(out.text.trim().split('\n').at(-1) as string) as { code: string; msg: string };
    expect(rec.code).toBe('BRX_ERR_LIFECYCLE_DRAIN_TIMEOUT');
    expect(rec.msg).toContain('still pending: kv socket');
    expect(rec.msg).not.toContain('agent listener');
  });

  it('returns 1 when a resource fails to close', async () => {
    const { log } = logger();
    const store = new DisposableStore();
    store.add(toDisposable('bad', () => { throw new Error('nope'); }));
    expect(await drain({ log, timeoutMs: 1000, store })).toBe(1);
  });
});

describe('handleShutdownSignals', () => {
  it('drains on the first signal, exits at once on the second, and can be removed', async () => {
    const { log } = logger();
    const store = new DisposableStore();
    let release!: () => void;
    store.add(toDisposable('slow', () => new Promise<void>((r) => { release = r; })));
    const codes: number[] = [];
    const before = process.listenerCount('SIGUSR2');
    const handle = handleShutdownSignals({ log, timeoutMs: 5000, store, exit: (c) => codes.push(c), signals: ['SIGUSR2'] });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);

    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setImmediate(r));
    expect(codes).toEqual([]);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(codes).toEqual([130]);
    release();
    await vi.waitFor(() => expect(codes).toEqual([130, 0]), { timeout: 15_000 });

    await handle.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
