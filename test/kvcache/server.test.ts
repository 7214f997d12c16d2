import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ItemStatus,
  Op,
  Status,
  decodeError,
  decodeHelloReply,
  decodeItemStatuses,
  decodeJson,
  decodeLeaseRecords,
  encodeAlloc,
  encodeHello,
  encodeKeys,
  encodeLeaseIds,
  frame,
} from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';
import { Wire } from './wire.js';

const log = pino({ level: 'silent' });
let root: string;
let service: KvService;
let registry: Registry;
const open: Wire[] = [];

async function wire(ns?: string, blockSize = MiB): Promise<Wire> {
  const w = await Wire.open(service.socketPath);
  open.push(w);
  if (ns !== undefined) expect((await w.call(Op.HELLO, encodeHello({ namespace: ns, layout: '', blockSize }))).header.status).toBe(0);
  return w;
}

beforeAll(async () => {
  root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-test-'));
  registry = new Registry();
  service = await startKvService(shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), slabCount: 2, leaseTtlMs: 300, maxLeases: 64 }), { log, registry });
});

afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

afterAll(async () => {
  await service.close();
  expect(existsSync(service.socketPath)).toBe(false);
  rmSync(root, { recursive: true, force: true });
});

describe('KV lease server', () => {
  it('answers HELLO with the slab files', async () => {
    const w = await wire();
    expect((await w.call(Op.PING)).header.status).toBe(0);
    const r = await w.call(Op.HELLO, encodeHello({ namespace: 'hello', layout: 'x', blockSize: MiB }));
    const h = decodeHelloReply(r.body);
    expect(h.slabs).toHaveLength(2);
    for (const p of h.slabs) expect(statSync(p).size).toBe(h.slabSize);
    expect(h.slotSize).toBe(MiB);
    expect(h.leaseTtlMs).toBe(300);
    expect(r.header.op).toBe(Op.HELLO | 0x80);
    const again = await w.call(Op.HELLO, encodeHello({ namespace: 'other', layout: '', blockSize: MiB }));
    expect(again.header.status).toBe(Status.BAD_HELLO);
  });

  it('requires HELLO before data ops and keeps the connection', async () => {
    const w = await wire();
    const r = await w.call(Op.EXISTS, encodeKeys(keys(1, 1)));
    expect(r.header.status).toBe(Status.NO_HELLO);
    expect(decodeError(r.body)).toMatch(/HELLO/);
    expect((await w.call(Op.PING)).header.status).toBe(0);
  });

  it('writes, seals, looks up and releases through leases', async () => {
    const w = await wire('flow');
    const a = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(1, 3), [MiB, MiB, 100]))).body);
    expect(a.map((x) => x.status)).toEqual([0, 0, 0]);
    const spots = new Set(a.map((x) => `${x.slab}:${x.offset}`));
    expect(spots.size).toBe(3);
    expect(a[2]?.length).toBe(100);
    const r = await wire('flow');
    expect((await r.call(Op.EXISTS, encodeKeys(keys(1, 3)))).body.readUInt32LE(0)).toBe(0);
    const sealed = decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds(a.map((x) => x.leaseId)))).body);
    expect([...sealed]).toEqual([0, 0, 0]);
    const l = decodeLeaseRecords((await r.call(Op.LOOKUP, encodeKeys(keys(1, 4)))).body);
    expect(l.map((x) => [x.slab, x.offset, x.length])).toEqual(a.map((x) => [x.slab, x.offset, x.length]));
    const stats = decodeJson((await r.call(Op.STATS)).body) as { leases: { read: number }; namespace: { entries: number } };
    expect(stats.leases.read).toBe(3);
    expect(stats.namespace.entries).toBe(3);
    const rel = decodeItemStatuses((await r.call(Op.RELEASE, encodeLeaseIds([...l.map((x) => x.leaseId), 999]))).body);
    expect([...rel]).toEqual([0, 0, 0, ItemStatus.UNKNOWN_LEASE]);
    expect(service.summary().leases).toEqual({ read: 0, write: 0 });
    // A SEAL of a read lease or an already used one is UNKNOWN_LEASE.
    expect([...decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([a[0]?.leaseId ?? 0]))).body)]).toEqual([ItemStatus.UNKNOWN_LEASE]);
  });

  it('drops the write leases of a closed connection: nothing visible, no slot kept', async () => {
    const before = service.summary().bytesByState.writing;
    const w = await wire('crash');
    const a = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(2, 4), [MiB, MiB, MiB, MiB]))).body);
    expect(a.every((x) => x.status === 0)).toBe(true);
    expect(service.summary().bytesByState.writing).toBe(before + 4 * MiB);
    w.close();
    await w.ended;
    // The shard sees the close on its own side of the socket, a moment later.
    await vi.waitFor(() => expect(service.summary().bytesByState.writing).toBe(before), { timeout: 15_000 });
    const r = await wire('crash');
    expect((await r.call(Op.EXISTS, encodeKeys(keys(2, 4)))).body.readUInt32LE(0)).toBe(0);
    expect(await registry.getSingleMetricAsString('brixlet_kvcache_dropped_writes_total')).toMatch(/reason="disconnect"} [1-9]/);
  });

  it('expires leases: an expired write lease drops its block', async () => {
    const w = await wire('ttl');
    const expired = async () => Number(/reason="expired"} (\d+)/.exec(await registry.getSingleMetricAsString('brixlet_kvcache_dropped_writes_total'))?.[1] ?? 0);
    const expiredBefore = await expired();
    const a = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(3, 1), [MiB]))).body);
    // The sweep runs on a timer (a quarter of the 300 ms TTL): wait for it, however late it runs.
    await vi.waitFor(async () => expect(await expired()).toBeGreaterThan(expiredBefore), { timeout: 15_000, interval: 50 });
    expect([...decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([a[0]?.leaseId ?? 0]))).body)]).toEqual([ItemStatus.UNKNOWN_LEASE]);
    expect((await w.call(Op.EXISTS, encodeKeys(keys(3, 1)))).body.readUInt32LE(0)).toBe(0);
    expect(await registry.getSingleMetricAsString('brixlet_kvcache_dropped_writes_total')).toMatch(/reason="expired"} [1-9]/);
  });

  it('bounds the leases of one connection', async () => {
    const w = await wire('many', 64 * 1024);
    const r = await w.call(Op.ALLOC, encodeAlloc(keys(4, 65), new Array<number>(65).fill(1)));
    expect(r.header.status).toBe(Status.TOO_MANY_LEASES);
    expect(service.summary().bytesByState.writing).toBe(0);
  });

  it('answers garbage with BAD_FRAME and closes; other clients keep working', async () => {
    const good = await wire('keep');
    const bad = await wire();
    bad.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const r = await bad.next();
    expect(r?.header.status).toBe(Status.BAD_FRAME);
    await bad.ended;
    expect((await good.call(Op.PING)).header.status).toBe(0);
  });

  it('closes on oversized frames, unknown ops and truncated bodies', async () => {
    const big = await wire();
    const hdr = frame(Op.LOOKUP, 1, undefined);
    hdr.writeUInt32LE(64 << 20, 0);
    big.sendRaw(hdr);
    expect((await big.next())?.header.status).toBe(Status.FRAME_TOO_LARGE);
    await big.ended;

    const unk = await wire('x');
    unk.sendRaw(frame(0x42, 5, undefined));
    expect((await unk.next())?.header.status).toBe(Status.UNKNOWN_OP);
    await unk.ended;

    const trunc = await wire('x');
    const body = encodeKeys(keys(1, 2));
    trunc.sendRaw(frame(Op.LOOKUP, 6, body.subarray(0, body.length - 3)));
    expect((await trunc.next())?.header.status).toBe(Status.BAD_FRAME);
    await trunc.ended;
  });

  it('exports brixlet_kvcache_* metrics', async () => {
    const text = await registry.metrics();
    for (const name of ['lookups_total', 'hit_blocks_total', 'requested_blocks_total', 'lookup_duration_seconds', 'put_bytes_total', 'get_bytes_total', 'evictions_total', 'ghost_hits_total', 'bytes', 'leases_active', 'dropped_writes_total', 'capacity_bytes']) {
      expect(text).toContain(`brixlet_kvcache_${name}`);
    }
    expect(text).toMatch(/brixlet_kvcache_capacity_bytes 16777216/);
  });
});
