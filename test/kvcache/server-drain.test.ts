// Shutdown of the lease socket: drain() refuses new work with SHUTTING_DOWN but lets engines finish
// (SEAL, RELEASE) the leases they hold, so nobody meets a closed socket mid-request.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Op,
  Status,
  decodeItemStatuses,
  decodeLeaseRecords,
  encodeAlloc,
  encodeHello,
  encodeKeys,
  encodeLeaseIds,
} from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';
import { Wire } from './wire.js';

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(leaseTtlMs = 30_000): Promise<KvService> {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-drain-'));
  const service = await startKvService(shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), leaseTtlMs }), {
    log,
    registry: new Registry(),
  });
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  cleanup.push(() => service.close());
  return service;
}

async function wire(service: KvService, ns?: string): Promise<Wire> {
  const w = await Wire.open(service.socketPath);
  cleanup.push(() => w.close());
  if (ns !== undefined) expect((await w.call(Op.HELLO, encodeHello({ namespace: ns, layout: '', blockSize: MiB }))).header.status).toBe(0);
  return w;
}

describe('KV lease server drain', () => {
  it('serves SEAL of a write in progress, refuses new work, and finishes once no lease is held', async () => {
    const service = await start();
    const writer = await wire(service, 'drain');
    const idle = await wire(service, 'drain');
    const a = decodeLeaseRecords((await writer.call(Op.ALLOC, encodeAlloc(keys(1, 2), [MiB, MiB]))).body);
    expect(a.map((x) => x.status)).toEqual([0, 0]);

    let drained = false;
    const draining = service.drain(60_000).then(() => {
      drained = true;
    });
    // Leases are held: the drain waits for them.
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);

    // A new connection is answered SHUTTING_DOWN on HELLO and closed.
    const late = await wire(service);
    const hello = await late.call(Op.HELLO, encodeHello({ namespace: 'drain', layout: '', blockSize: MiB }));
    expect(hello.header.status).toBe(Status.SHUTTING_DOWN);
    await late.ended;

    // The writer finishes its write: PING and SEAL are served, the blocks become visible.
    expect((await writer.call(Op.PING)).header.status).toBe(0);
    const sealed = decodeItemStatuses((await writer.call(Op.SEAL, encodeLeaseIds(a.map((x) => x.leaseId)))).body);
    expect([...sealed]).toEqual([0, 0]);
    await draining;
    expect(drained).toBe(true);
    expect(service.summary().entries).toBe(2);

    // An idle connection stays open until close(); its next lookup is refused and it is closed.
    expect(idle.closed).toBe(false);
    const lookup = await idle.call(Op.LOOKUP, encodeKeys(keys(1, 2)));
    expect(lookup.header.status).toBe(Status.SHUTTING_DOWN);
    await idle.ended;
  });

  it('refuses ALLOC and EXISTS from a connection that still holds leases, dropping them with the connection', async () => {
    const service = await start();
    const w = await wire(service, 'drain2');
    const a = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(2, 1), [MiB]))).body);
    expect(a[0]?.status).toBe(0);
    const draining = service.drain(60_000);
    const r = await w.call(Op.ALLOC, encodeAlloc(keys(2, 1, 1), [MiB]));
    expect(r.header.status).toBe(Status.SHUTTING_DOWN);
    await w.ended;
    // The closed connection's write lease ended: nothing held, the drain is over, nothing half-written is visible.
    await draining;
    expect(service.summary().leases).toEqual({ read: 0, write: 0 });
    expect(service.summary().entries).toBe(0);
  });

  it('ends at its timeout when an engine keeps its leases', async () => {
    const service = await start();
    const w = await wire(service, 'drain3');
    expect(decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(3, 1), [MiB]))).body)[0]?.status).toBe(0);
    await service.drain(50);
    expect(service.summary().leases.write).toBe(1);
    await service.close();
    await w.ended;
    expect(w.closed).toBe(true);
  });

  it('ends when held leases expire at their TTL', async () => {
    const service = await start(200);
    const w = await wire(service, 'drain4');
    expect(decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(4, 1), [MiB]))).body)[0]?.status).toBe(0);
    await service.drain(60_000);
    expect(service.summary().leases.write).toBe(0);
  });

  it('resolves at once with no lease held', async () => {
    const service = await start();
    await wire(service, 'drain5');
    await service.drain(60_000);
    expect(service.summary().connections).toBe(1);
  });
});
