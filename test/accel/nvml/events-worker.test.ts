import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type EventWorkerData, type EventWorkerMessage, eventWorkerMain, eventWorkerSource } from '../../../src/accel/nvml/events-worker.js';

type Fn = (...args: unknown[]) => number;
type Wait = { rc: number; device?: number; type?: number; xid?: number };

/** A stand-in for koffi + libnvidia-ml: `waits` scripts what nvmlEventSetWait_v2 returns, in order. */
function fakeKoffi(opts: { waits: Wait[]; missing?: string[]; register?: Record<number, number>; supported?: number }) {
  const calls: string[] = [];
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const fns: Record<string, Fn> = {
    nvmlEventSetCreate: (out) => ((out as BigUint64Array)[0] = 77n, 0),
    nvmlDeviceGetHandleByIndex_v2: (i, out) => ((out as BigUint64Array)[0] = BigInt(1000 + (i as number)), 0),
    nvmlDeviceGetSupportedEventTypes: (_h, out) => ((out as BigUint64Array)[0] = BigInt(opts.supported ?? 0xb), 0),
    nvmlDeviceRegisterEvents: (h, mask) => (calls.push(`register ${String(h)} ${String(mask)}`), opts.register?.[Number(h) - 1000] ?? 0),
    nvmlEventSetWait_v2: (_set, out, timeout) => {
      calls.push(`wait ${String(timeout)}`);
      const next = opts.waits.shift() ?? { rc: 10 };
      if (opts.waits.length === 0 && next.rc === 10) Atomics.store(stop, 0, 1);
      const data = out as BigUint64Array;
      if (next.rc === 0) [data[0], data[1], data[2]] = [BigInt(1000 + (next.device ?? 0)), BigInt(next.type ?? 8), BigInt(next.xid ?? 0)];
      return next.rc;
    },
    nvmlEventSetFree: (set) => (calls.push(`free ${String(set)}`), 0),
  };
  const koffi = {
    load: () => ({
      func(name: string): Fn {
        const fn = fns[name];
        if (fn === undefined || opts.missing?.includes(name)) throw new Error(`Cannot find function '${name}'`);
        return fn;
      },
    }),
  };
  return { koffi, calls, stop };
}

function run(opts: Parameters<typeof fakeKoffi>[0], deviceCount = 2) {
  const fake = fakeKoffi(opts);
  const messages: EventWorkerMessage[] = [];
  const data: EventWorkerData = { libraryPath: '/x', deviceCount, stop: fake.stop.buffer as SharedArrayBuffer, timeoutMs: 250 };
  eventWorkerMain({ postMessage: (m) => messages.push(m) }, data, fake.koffi);
  return { messages, calls: fake.calls };
}

describe('eventWorkerMain', () => {
  it('registers every device, keeps waiting through timeouts, posts XIDs and stops on a wait error', () => {
    const { messages, calls } = run({ waits: [{ rc: 10 }, { rc: 0, device: 1, xid: 79 }, { rc: 10 }, { rc: 15 }] });
    expect(messages).toEqual([
      { kind: 'ready', registered: [0, 1] },
      { kind: 'xid', index: 1, xid: 79 },
      { kind: 'event-error', api: 'nvmlEventSetWait_v2', value: 15 },
    ]);
    expect(calls.filter((c) => c.startsWith('wait'))).toEqual(['wait 250', 'wait 250', 'wait 250', 'wait 250']);
    expect(calls.at(-1)).toBe('free 77');
  });

  it('registers only the supported event types, and reports ECC events by type', () => {
    const { messages, calls } = run({ waits: [{ rc: 0, device: 0, type: 2 }, { rc: 0, device: 1, type: 1 }, { rc: 10 }], supported: 0x3 });
    expect(calls.filter((c) => c.startsWith('register'))).toEqual(['register 1000 3', 'register 1001 3']);
    expect(messages.slice(1)).toEqual([
      { kind: 'ecc', index: 0, type: 'dbe' },
      { kind: 'ecc', index: 1, type: 'sbe' },
    ]);
  });

  it('skips a device whose registration is NOT_SUPPORTED and reports any other registration failure', () => {
    const { messages } = run({ waits: [{ rc: 10 }], register: { 1: 3, 2: 15 } }, 3);
    expect(messages).toEqual([
      { kind: 'register-error', index: 2, api: 'nvmlDeviceRegisterEvents', value: 15 },
      { kind: 'ready', registered: [0] },
    ]);
  });

  it('falls back to the unversioned wait, and reports FUNCTION_NOT_FOUND when there is none', () => {
    expect(run({ waits: [], missing: ['nvmlEventSetWait_v2', 'nvmlEventSetWait'] }).messages).toEqual([
      { kind: 'event-error', api: 'nvmlEventSetWait_v2', value: 13 },
    ]);
  });

  it('does not wait at all when no device could be registered', () => {
    const { messages, calls } = run({ waits: [{ rc: 0, xid: 1 }], supported: 0 });
    expect(messages).toEqual([{ kind: 'ready', registered: [] }]);
    expect(calls.some((c) => c.startsWith('wait'))).toBe(false);
  });
});

describe('eventWorkerSource', () => {
  it('runs in a real worker thread from source text (as it must from src/ and dist/ alike)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-events-'));
    const fake = join(dir, 'fake-koffi.cjs');
    writeFileSync(
      fake,
      `let waits = 0;
       module.exports = { load: () => ({ func(name) {
         if (name === 'nvmlEventSetWait_v2') return (set, out) => { waits++; if (waits === 1) { out[0] = 1001n; out[1] = 8n; out[2] = 48n; return 0; } return 999; };
         if (name === 'nvmlEventSetCreate') return (out) => { out[0] = 5n; return 0; };
         if (name === 'nvmlDeviceGetHandleByIndex_v2') return (i, out) => { out[0] = BigInt(1000 + i); return 0; };
         if (name === 'nvmlDeviceGetSupportedEventTypes' || name === 'nvmlDeviceRegisterEvents' || name === 'nvmlEventSetFree') return () => 0;
         throw new Error('missing ' + name);
       } }) };`,
    );
    const data: EventWorkerData = { libraryPath: '/x', deviceCount: 2, stop: new SharedArrayBuffer(4), timeoutMs: 100 };
    const worker = new Worker(eventWorkerSource(fake), { eval: true, workerData: data });
    const messages: EventWorkerMessage[] = [];
    worker.on('message', (m: EventWorkerMessage) => messages.push(m));
    await new Promise((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    expect(messages).toEqual([
      { kind: 'ready', registered: [0, 1] },
      { kind: 'xid', index: 1, xid: 48 },
      { kind: 'event-error', api: 'nvmlEventSetWait_v2', value: 999 },
    ]);
  });
});
