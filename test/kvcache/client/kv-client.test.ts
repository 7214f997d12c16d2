import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chainKeys } from '../../../src/kvcache/client/chain-keys.js';
import { KvClient, type KvClientOptions } from '../../../src/kvcache/client/kv-client.js';
import { ItemStatus, Op, Status, encodeHelloReply } from '../../../src/kvcache/protocol.js';
import { startKvService } from '../../../src/kvcache/service.js';
import type { KvService } from '../../../src/kvcache/types.js';
import { shardOptions } from '../shard-fixture.js';
import { ok, refuse, startFakeShard } from './fake-shard.js';

const MiB = 1 << 20;
const KiB = 1024;
const log = pino({ level: 'silent' });
let root: string;
let service: KvService;
const clients: KvClient[] = [];

async function client(over: Partial<KvClientOptions> = {}): Promise<KvClient> {
  const c = await KvClient.connect({ socketPath: service.socketPath, namespace: 'client-test', blockSize: 64 * KiB, ...over });
  clients.push(c);
  return c;
}

function blocks(n: number, size: number, tag: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const b = new Uint8Array(size);
    for (let j = 0; j < size; j += 251) b[j] = (tag * 31 + i * 7 + j) & 0xff;
    return b;
  });
}

beforeAll(async () => {
  root = mkdtempSync('/dev/shm/brixlet-kvclient-test-');
  service = await startKvService(
    shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), slabSize: 16 * MiB, slabCount: 4, pageSize: MiB, maxBatch: 8, leaseTtlMs: 5000 }),
    { log },
  );
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

afterAll(async () => {
  await service.close();
  rmSync(root, { recursive: true, force: true });
});

describe('KvClient against the shard', () => {
  it('learns the slab files and limits from HELLO and answers PING', async () => {
    const c = await client();
    expect(c.hello.slabs).toEqual(service.summary().slabs.files);
    expect(c.hello.slabSize).toBe(16 * MiB);
    expect(c.hello.maxBatch).toBe(8);
    await c.ping();
  });

  it('round-trips a chain longer than one batch through put and get, across connections', async () => {
    const writer = await client();
    const data = blocks(20, 64 * KiB, 1);
    data[19] = data[19]?.subarray(0, 1000) as Uint8Array; // a short last block keeps its length
    const keys = chainKeys(data);
    const statuses = await writer.put(keys, data);
    expect([...statuses]).toEqual(new Array(20).fill(ItemStatus.OK));
    expect([...(await writer.put(keys.subarray(0, 32), data.slice(0, 2)))]).toEqual([ItemStatus.EXISTS, ItemStatus.EXISTS]);

    const reader = await client();
    expect(await reader.exists(keys.subarray(0, 8 * 16))).toBe(8);
    const got = await reader.get(keys);
    expect(got).toHaveLength(20);
    got.forEach((b, i) => expect(Buffer.compare(b, Buffer.from(data[i] as Uint8Array))).toBe(0));
    // get released its read leases.
    expect(service.summary().leases.read).toBe(0);
  });

  it('returns only the cached prefix', async () => {
    const c = await client();
    const data = blocks(5, 4 * KiB, 2);
    const keys = chainKeys(data);
    await c.put(keys.subarray(0, 3 * 16), data.slice(0, 3));
    const got = await c.get(keys);
    expect(got.map((b) => b.length)).toEqual([4 * KiB, 4 * KiB, 4 * KiB]);
    const { hits, leases } = await c.lookup(keys);
    expect(hits).toBe(3);
    expect([...(await c.release(leases.map((l) => l.leaseId)))]).toEqual([0, 0, 0]);
    expect([...(await c.release([leases[0]?.leaseId ?? 0]))]).toEqual([ItemStatus.UNKNOWN_LEASE]);
  });

  it('exposes the raw lease ops: alloc, drop, seal and per-item statuses', async () => {
    const c = await client();
    const keys = chainKeys(blocks(2, 1024, 3));
    const recs = await c.alloc(keys, [1024, 128 * KiB]);
    expect(recs.map((r) => r.status)).toEqual([ItemStatus.OK, ItemStatus.BAD_LENGTH]);
    expect([...(await c.drop([recs[0]?.leaseId ?? 0]))]).toEqual([ItemStatus.OK]);
    expect(await c.exists(keys)).toBe(0);
    expect([...(await c.seal([recs[0]?.leaseId ?? 0]))]).toEqual([ItemStatus.UNKNOWN_LEASE]);
  });

  it('reads its namespace in STATS', async () => {
    const c = await client({ namespace: 'stats-ns' });
    await c.put(chainKeys([new Uint8Array(100)]), [new Uint8Array(100)]);
    const s = await c.stats();
    expect(s.namespace?.name).toBe('stats-ns');
    expect(s.namespace?.entries).toBe(1);
    expect(s.capacityBytes).toBe(64 * MiB);
  });

  it('refuses a namespace opened with another block size with BRX_ERR_KV_PROTOCOL', async () => {
    await client({ namespace: 'fixed' });
    await expect(KvClient.connect({ socketPath: service.socketPath, namespace: 'fixed', blockSize: 128 * KiB })).rejects.toMatchObject({
      code: 'BRX_ERR_KV_PROTOCOL',
      params: { op: 'HELLO', status: 'LAYOUT_MISMATCH' },
    });
  });

  it('turns server-side batch limits into BRX_ERR_KV_PROTOCOL on raw ops', async () => {
    const c = await client();
    await expect(c.lookup(Buffer.alloc(9 * 16))).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', params: { op: 'LOOKUP', status: 'BATCH_TOO_LARGE' } });
    await c.ping();
    await expect(c.exists(Buffer.alloc(15))).rejects.toThrow(RangeError);
  });
});

describe('KvClient against a misbehaving shard', () => {
  it('refuses a lease that points outside the announced slabs and drops it', async () => {
    const seen: number[] = [];
    const fake = await startFakeShard((socket, h) => {
      seen.push(h.op);
      if (h.op === Op.HELLO) {
        socket.write(ok(h, encodeHelloReply({ sessionId: 1, leaseTtlMs: 1000, maxBatch: 16, maxFrame: MiB, slotSize: 4096, slabSize: 4096, slabs: [] })));
      } else if (h.op === Op.ALLOC) {
        const body = Buffer.alloc(4 + 24);
        body.writeUInt32LE(1, 0);
        body.writeUInt32LE(5, 4); // lease 5
        body.writeUInt32LE(3, 8); // slab 3 of none
        body.writeUInt32LE(10, 20); // length
        socket.write(ok(h, body));
      } else if (h.op === Op.DROP) {
        socket.write(ok(h, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])));
      } else socket.write(refuse(h, Status.UNKNOWN_OP, 'no'));
    });
    try {
      const c = await KvClient.connect({ socketPath: fake.path, namespace: 'x', blockSize: 4096 });
      await expect(c.put(Buffer.alloc(16, 1), [new Uint8Array(10)])).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', params: { op: 'ALLOC', status: 'BAD_REPLY' } });
      expect(seen).toEqual([Op.HELLO, Op.ALLOC, Op.DROP]);
      await c.close();
    } finally {
      await fake.close();
    }
  });
});
