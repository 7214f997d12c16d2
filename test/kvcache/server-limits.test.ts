// Per-connection fairness on the lease socket: the idle timeout and the write caps. The server runs on
// an in-memory shard (no slab files: these tests never touch block bytes) so that sweep(now) can be
// called with an injected clock.
import { afterEach, describe, expect, it } from 'vitest';
import { Op, Status, decodeError, decodeItemStatuses, decodeLeaseRecords, encodeAlloc, encodeHello, encodeLeaseIds } from '../../src/kvcache/protocol.js';
import type { LeaseServerOptions } from '../../src/kvcache/server.js';
import { startLeaseServer } from './lease-server-fixture.js';
import { MiB, keys } from './shard-fixture.js';
import { Wire } from './wire.js';

const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const IDLE_MS = 60_000;

async function start(over: Partial<LeaseServerOptions> = {}) {
  const t = await startLeaseServer(cleanup, { idleTimeoutMs: IDLE_MS, ...over });
  return { ...t, idleClosed: () => t.closed('idle') };
}

async function wire(path: string, ns?: string): Promise<Wire> {
  const w = await Wire.open(path);
  cleanup.push(() => w.close());
  if (ns !== undefined) expect((await w.call(Op.HELLO, encodeHello({ namespace: ns, layout: '', blockSize: MiB }))).header.status).toBe(0);
  return w;
}

function alloc(w: Wire, tag: number, n: number) {
  return w.call(Op.ALLOC, encodeAlloc(keys(tag, n), Array<number>(n).fill(MiB)));
}

describe('KV lease server idle timeout', () => {
  it('closes a connection that sent nothing for --kv.idle-timeout and holds no lease', async () => {
    const { server, idleClosed, path } = await start();
    const silent = await wire(path);
    const bound = await wire(path, 'idle');
    expect(server.connections).toBe(2);
    // Not yet idle long enough: kept.
    server.sweep(Date.now() + IDLE_MS / 2);
    expect(server.connections).toBe(2);
    server.sweep(Date.now() + IDLE_MS + 1);
    await silent.ended;
    await bound.ended;
    expect(server.connections).toBe(0);
    expect(await idleClosed()).toBe(2);
  });

  it('keeps a connection that holds a lease until the lease ends', async () => {
    const { server, shard, path } = await start({ leaseTtlMs: 4 * IDLE_MS });
    const writer = await wire(path, 'busy');
    expect(decodeLeaseRecords((await alloc(writer, 1, 1)).body)[0]?.status).toBe(0);
    server.sweep(Date.now() + IDLE_MS + 1);
    expect(server.connections).toBe(1);
    expect(shard.leases().write).toBe(1);
    // The lease expires (its write is dropped) and the silent connection is closed in the same sweep.
    server.sweep(Date.now() + 4 * IDLE_MS + 1);
    await writer.ended;
    expect(server.connections).toBe(0);
    expect(shard.leases().write).toBe(0);
  });

  it('never closes idle connections with --kv.idle-timeout 0', async () => {
    const { server, path } = await start({ idleTimeoutMs: 0 });
    await wire(path, 'forever');
    server.sweep(Date.now() + 365 * 24 * 3_600_000);
    expect(server.connections).toBe(1);
  });
});

describe('KV lease server write caps', () => {
  it('refuses an ALLOC beyond --kv.max-write-leases with TOO_MANY_LEASES and keeps the connection', async () => {
    const { shard, path } = await start({ maxWriteLeases: 4 });
    const w = await wire(path, 'cap');
    const a = decodeLeaseRecords((await alloc(w, 1, 3)).body);
    expect(a.map((x) => x.status)).toEqual([0, 0, 0]);
    const r = await alloc(w, 2, 2);
    expect(r.header.status).toBe(Status.TOO_MANY_LEASES);
    expect(decodeError(r.body)).toMatch(/--kv.max-write-leases 4/);
    // Nothing was done: no new entry, no new lease.
    expect(shard.leases().write).toBe(3);
    expect(shard.index.size).toBe(3);
    // Sealing frees room; read leases do not count.
    expect([...decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([a[0]?.leaseId ?? 0, a[1]?.leaseId ?? 0]))).body)]).toEqual([0, 0]);
    expect(decodeLeaseRecords((await alloc(w, 3, 2)).body).map((x) => x.status)).toEqual([0, 0]);
    // Another connection has its own cap.
    const other = await wire(path, 'cap');
    expect(decodeLeaseRecords((await alloc(other, 4, 4)).body).map((x) => x.status)).toEqual([0, 0, 0, 0]);
  });

  it('refuses an ALLOC beyond --kv.max-writing-bytes with TOO_MANY_LEASES', async () => {
    // 16 MiB shard; one connection may hold 4 MiB of unsealed blocks.
    const { shard, path } = await start({ maxWritingBytes: 4 * MiB });
    const w = await wire(path, 'bytes');
    const a = decodeLeaseRecords((await alloc(w, 1, 4)).body);
    expect(a.map((x) => x.status)).toEqual([0, 0, 0, 0]);
    const r = await alloc(w, 2, 1);
    expect(r.header.status).toBe(Status.TOO_MANY_LEASES);
    expect(decodeError(r.body)).toMatch(/--kv.max-writing-bytes/);
    expect(shard.bytesByState().writing).toBe(4 * MiB);
    // The other tenant still finds room: the first could not take the shard.
    const other = await wire(path, 'other');
    expect(decodeLeaseRecords((await alloc(other, 9, 4)).body).map((x) => x.status)).toEqual([0, 0, 0, 0]);
    // DROP gives the bytes back.
    expect([...decodeItemStatuses((await w.call(Op.DROP, encodeLeaseIds([a[0]?.leaseId ?? 0]))).body)]).toEqual([0]);
    expect(decodeLeaseRecords((await alloc(w, 3, 1)).body).map((x) => x.status)).toEqual([0]);
  });
});
