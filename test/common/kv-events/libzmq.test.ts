// Interop with real libzmq through pyzmq (Debian: apt-get install python3-zmq python3-msgpack): vLLM's
// documented subscriber against brixlet's publisher, and a vLLM-shaped libzmq publisher against
// KvEventSubscriber. Skipped, with the reason, where no python3 with zmq and msgpack is found.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KvEventPublisher } from '../../../src/common/kv-events/publisher.js';
import { KvEventSubscriber } from '../../../src/common/kv-events/subscriber.js';
import type { KvEventBatch, ReceivedKvEventBatch } from '../../../src/common/kv-events/types.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/libzmq_peer.py', import.meta.url));
const candidates = [process.env['BRIXLET_PYTHON'], '/usr/bin/python3', 'python3'].filter((p): p is string => p !== undefined && p !== '');
const python = candidates.find((p) => spawnSync(p, ['-c', 'import zmq, msgpack'], { stdio: 'ignore' }).status === 0);
if (python === undefined) console.warn('libzmq interop tests skipped: no python3 with zmq and msgpack (apt-get install python3-zmq python3-msgpack, or set BRIXLET_PYTHON)');

const children: ChildProcessWithoutNullStreams[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill();
  for (const c of closers.splice(0)) await c();
});

function run(args: string[]): { child: ChildProcessWithoutNullStreams; next: () => Promise<Record<string, unknown>> } {
  const child = spawn(python!, [SCRIPT, ...args]);
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  const waiters: ((l: string | undefined) => void)[] = [];
  lines.on('line', (l) => (waiters.length > 0 ? waiters.shift()!(l) : queue.push(l)));
  lines.on('close', () => waiters.splice(0).forEach((w) => w(undefined)));
  const next = async () => {
    const line = queue.length > 0 ? queue.shift() : await new Promise<string | undefined>((r) => waiters.push(r));
    if (line === undefined) throw new Error(`python peer ended: ${stderr}`);
    return JSON.parse(line) as Record<string, unknown>;
  };
  return { child, next };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const batch = (n: number): KvEventBatch => ({
  ts: n + 0.25,
  dataParallelRank: null,
  events: [
    { type: 'BlockStored', blockHashes: [(2n ** 64n - 1n - BigInt(n)).toString(), '0x0a0b'], parentBlockHash: String(n), tokenIds: [n, 1], blockSize: 2, loraId: null, medium: 'BRIXLET', loraName: null },
    { type: 'BlockRemoved', blockHashes: [String(n)], medium: 'GPU' },
  ],
});

describe.skipIf(python === undefined)('KV events against libzmq', () => {
  it('serves vLLM\'s documented subscriber (SUB + topic, replay from a seq) from KvEventPublisher', async () => {
    const pub = new KvEventPublisher({ endpoint: 'tcp://127.0.0.1:0', replayEndpoint: 'tcp://127.0.0.1:0', topic: 'kv@10.0.0.1@m' });
    await pub.start();
    closers.push(() => pub.close());
    const py = run(['subscriber', pub.endpoint, pub.replayEndpoint!, 'kv@10.0.0.1', '3']);
    expect(await py.next()).toEqual({ ready: true });
    await until(() => pub.stats().subscriptions === 1, 'the libzmq SUBSCRIBE');
    for (let i = 0; i < 3; i++) pub.publish(batch(i));
    const live = [await py.next(), await py.next(), await py.next()];
    expect(live.map((l) => [l['topic'], l['seq']])).toEqual([['kv@10.0.0.1@m', 0], ['kv@10.0.0.1@m', 1], ['kv@10.0.0.1@m', 2]]);
    expect(live[1]!['batch']).toEqual([1.25, [['BlockStored', ['18446744073709551614', '0x0a0b'], 1, [1, 1], 2, null, 'BRIXLET'], ['BlockRemoved', [1], 'GPU']]]);
    expect([await py.next(), await py.next(), await py.next()]).toEqual([{ replay: 1, empty: false }, { replay: 2, empty: false }, { replay: -1, empty: true }]);
  });

  it('KvEventSubscriber decodes a libzmq PUB, dedupes, and fills a gap from a libzmq ROUTER', async () => {
    const py = run(['publisher']);
    const ports = await py.next();
    const got: ReceivedKvEventBatch[] = [];
    const sub = new KvEventSubscriber({ endpoint: `tcp://127.0.0.1:${String(ports['pub'])}`, replayEndpoint: `tcp://127.0.0.1:${String(ports['replay'])}`, topic: 'kv@py', onBatch: (b) => got.push(b) });
    sub.start();
    closers.push(() => sub.close());
    await until(() => got.length > 0 && sub.stats().replayConnected, 'the first batch');
    py.child.stdin.write('go\n');
    expect(await py.next()).toEqual({ replayFrom: 2 });
    await until(() => got.length === 6, 'six batches');
    expect(got.map((g) => g.seq)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect(got[0]!.topic).toBe('kv@py@model');
    expect(got[4]!.batch).toEqual({
      ts: 4.5,
      dataParallelRank: null,
      events: [
        { type: 'BlockStored', blockHashes: ['18446744073709551607', '0xab04'], parentBlockHash: null, tokenIds: [4, 5], blockSize: 1, loraId: null, medium: 'GPU', loraName: null },
        { type: 'BlockRemoved', blockHashes: ['11'], medium: 'GPU' },
        { type: 'AllBlocksCleared' },
      ],
    });
    expect(sub.stats()).toMatchObject({ gaps: 1, missed: 2, replays: 1, replayed: 2, lost: 0, decodeErrors: 0 });
    py.child.stdin.write('done\n');
  });
});
