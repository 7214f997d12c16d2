// The shard against docs/kv-protocol.md, byte by byte over the socket: HELLO flags and names, header
// errors that echo the request, replies within the announced max frame, the parent invariant.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isBrixletError } from '../../src/common/errors.js';
import { noopKvMetrics } from '../../src/kvcache/metrics.js';
import {
  HEADER_BYTES,
  ItemStatus,
  MAGIC,
  Op,
  REPLY_BIT,
  Status,
  VERSION,
  decodeError,
  decodeHelloReply,
  decodeItemStatuses,
  decodeJson,
  decodeLeaseRecords,
  decodeU32,
  encodeAlloc,
  encodeHello,
  encodeKeys,
  encodeLeaseIds,
  frame,
} from '../../src/kvcache/protocol.js';
import { LeaseServer } from '../../src/kvcache/server.js';
import { startKvService } from '../../src/kvcache/service.js';
import { KvShard } from '../../src/kvcache/shard.js';
import type { KvService } from '../../src/kvcache/types.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';
import { Wire } from './wire.js';

const log = pino({ level: 'silent' });
const KiB = 1024;
let root: string;
let service: KvService;
/** Same shard, --kv.max-frame 4 KiB: the batch limit must come down to what fits. */
let small: KvService;
const open: Wire[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-kv-proto-'));
  service = await startKvService(shardOptions({ dir: join(root, 'a'), socketPath: join(root, 'a.sock'), maxFrame: 64 * KiB }), { log });
  small = await startKvService(shardOptions({ dir: join(root, 'b'), socketPath: join(root, 'b.sock'), maxFrame: 4 * KiB, maxBatch: 4096, maxNamespaces: 32 }), { log });
});

afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

afterAll(async () => {
  await service.close();
  await small.close();
  rmSync(root, { recursive: true, force: true });
});

async function wire(s: KvService = service): Promise<Wire> {
  const w = await Wire.open(s.socketPath);
  open.push(w);
  return w;
}

/** A raw HELLO body: namespace and signature as bytes, any flags. */
function helloBody(ns: Buffer, sig: Buffer, blockSize: number, flags = 0): Buffer {
  const out = Buffer.alloc(1 + ns.length + 1 + sig.length + 8);
  let p = out.writeUInt8(ns.length, 0);
  p += ns.copy(out, p);
  p = out.writeUInt8(sig.length, p);
  p += sig.copy(out, p);
  p = out.writeUInt32LE(blockSize, p);
  out.writeUInt32LE(flags, p);
  return out;
}

/** Writes `bytes`, returns everything the shard sent until it closed the connection. */
function exchange(path: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const got: Buffer[] = [];
    s.on('connect', () => s.write(bytes));
    s.on('data', (c: Buffer) => got.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

function rawHeader(b: Buffer) {
  return { length: b.readUInt32LE(0), magic: b.readUInt16LE(4), version: b.readUInt8(6), op: b.readUInt8(7), requestId: b.readUInt32LE(8), status: b.readUInt16LE(12) };
}

async function hello(w: Wire, ns: string, blockSize = MiB): Promise<void> {
  expect((await w.call(Op.HELLO, encodeHello({ namespace: ns, layout: '', blockSize }))).header.status).toBe(Status.OK);
}

describe('HELLO', () => {
  it('refuses flags other than 0 with BAD_HELLO and keeps the connection', async () => {
    const w = await wire();
    for (const flags of [1, 0x8000_0000]) {
      const r = await w.call(Op.HELLO, helloBody(Buffer.from('flags'), Buffer.alloc(0), MiB, flags));
      expect(r.header.status).toBe(Status.BAD_HELLO);
      expect(decodeError(r.body)).toMatch(/flags/);
    }
    await hello(w, 'flags');
  });

  it('refuses a namespace that is not valid UTF-8: two byte strings never name one namespace', async () => {
    const w = await wire();
    // Both would decode to "\uFFFD" with a lossy decoder and share their blocks.
    for (const bad of [Buffer.from([0xff]), Buffer.from([0xfe]), Buffer.from([0x61, 0xc3]), Buffer.from([0xed, 0xa0, 0x80])]) {
      const r = await w.call(Op.HELLO, helloBody(bad, Buffer.alloc(0), MiB));
      expect(r.header.status).toBe(Status.BAD_HELLO);
      expect(decodeError(r.body)).toMatch(/UTF-8/);
    }
    await hello(w, 'utf8-ok');
  });

  it('keeps a leading byte-order mark: "\\uFEFFns" and "ns" are different namespaces', async () => {
    const a = await wire();
    const b = await wire();
    expect((await a.call(Op.HELLO, helloBody(Buffer.from('\uFEFFbom-ns', 'utf8'), Buffer.alloc(0), MiB))).header.status).toBe(Status.OK);
    await hello(b, 'bom-ns');
    const lease = decodeLeaseRecords((await a.call(Op.ALLOC, encodeAlloc(keys(7, 1), [4096]))).body)[0];
    expect(lease?.status).toBe(ItemStatus.OK);
    expect(decodeItemStatuses((await a.call(Op.SEAL, encodeLeaseIds([lease?.leaseId ?? 0]))).body)).toEqual(Uint8Array.of(0));
    expect(decodeU32((await a.call(Op.EXISTS, encodeKeys(keys(7, 1)))).body, 'hits')).toBe(1);
    expect(decodeU32((await b.call(Op.EXISTS, encodeKeys(keys(7, 1)))).body, 'hits')).toBe(0);
    const names = (decodeJson((await a.call(Op.STATS)).body) as { namespaces: { name: string }[] }).namespaces.map((n) => n.name);
    expect(names).toContain('\uFEFFbom-ns');
    expect(names).toContain('bom-ns');
  });

  it('compares layout signatures as bytes: different invalid UTF-8 signatures do not match', async () => {
    const a = await wire();
    const b = await wire();
    const c = await wire();
    expect((await a.call(Op.HELLO, helloBody(Buffer.from('sig-ns'), Buffer.from([0xff, 0x01]), MiB))).header.status).toBe(Status.OK);
    const r = await b.call(Op.HELLO, helloBody(Buffer.from('sig-ns'), Buffer.from([0xfe, 0x01]), MiB));
    expect(r.header.status).toBe(Status.LAYOUT_MISMATCH);
    expect(decodeError(r.body)).toMatch(/hex:ff01.*hex:fe01/);
    expect((await c.call(Op.HELLO, helloBody(Buffer.from('sig-ns'), Buffer.from([0xff, 0x01]), MiB))).header.status).toBe(Status.OK);
  });
});

describe('header errors echo the request', () => {
  it('answers FRAME_TOO_LARGE with the request id and op (reply bit set), then closes', async () => {
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt32LE(64 * KiB + 1, 0);
    head.writeUInt16LE(MAGIC, 4);
    head.writeUInt8(VERSION, 6);
    head.writeUInt8(Op.LOOKUP, 7);
    head.writeUInt32LE(0xdead_beef, 8);
    const got = await exchange(service.socketPath, head);
    const h = rawHeader(got);
    expect(h).toMatchObject({ magic: MAGIC, version: VERSION, op: Op.LOOKUP | REPLY_BIT, requestId: 0xdead_beef, status: Status.FRAME_TOO_LARGE });
    expect(got.length).toBe(h.length);
    expect(decodeError(got.subarray(HEADER_BYTES))).toMatch(/exceeds/);
  });

  it('answers BAD_VERSION in the request\'s own version with its id and op, naming the version spoken', async () => {
    const f = frame(Op.PING, 41, undefined);
    f.writeUInt8(1, 6);
    const got = await exchange(service.socketPath, f);
    const h = rawHeader(got);
    // A version 1 client reads this header as its own and shows the message.
    expect(h).toMatchObject({ magic: MAGIC, version: 1, op: Op.PING | REPLY_BIT, requestId: 41, status: Status.BAD_VERSION });
    expect(decodeError(got.subarray(HEADER_BYTES))).toMatch(/version 1 is not supported.*speaks version 2/);
  });

  it('echoes a header whose length is shorter than the header; a bad magic gets id 0 and op 0x80', async () => {
    const short = frame(Op.STATS, 9, undefined);
    short.writeUInt32LE(8, 0);
    expect(rawHeader(await exchange(service.socketPath, short))).toMatchObject({ op: Op.STATS | REPLY_BIT, requestId: 9, status: Status.BAD_FRAME });
    const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(rawHeader(await exchange(service.socketPath, junk))).toMatchObject({ version: VERSION, op: REPLY_BIT, requestId: 0, status: Status.BAD_FRAME });
  });
});

describe('replies fit the announced max frame', () => {
  it('lowers maxBatch so a full batch fits one frame both ways (--kv.max-frame 4 KiB)', async () => {
    const w = await wire(small);
    const r = await w.call(Op.HELLO, encodeHello({ namespace: 'batch', layout: '', blockSize: 4 * KiB }));
    const h = decodeHelloReply(r.body);
    expect(h.maxFrame).toBe(4 * KiB);
    expect(h.maxBatch).toBe(Math.floor((4 * KiB - 40) / 24));
    const n = h.maxBatch;
    const k = keys(3, n);
    // The largest request (ALLOC with a parent) and the largest reply (n lease records) both fit.
    const base = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(2, 1), [4 * KiB]))).body);
    expect(decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([base[0]?.leaseId ?? 0]))).body)).toEqual(Uint8Array.of(0));
    const allocReq = frame(Op.ALLOC, 1, encodeAlloc(k, new Array<number>(n).fill(4 * KiB), { parent: keys(2, 1) }));
    expect(allocReq.length).toBeLessThanOrEqual(h.maxFrame);
    const alloc = await w.call(Op.ALLOC, encodeAlloc(k, new Array<number>(n).fill(4 * KiB), { parent: keys(2, 1) }));
    expect(alloc.header.status).toBe(Status.OK);
    expect(alloc.header.length).toBeLessThanOrEqual(h.maxFrame);
    const recs = decodeLeaseRecords(alloc.body);
    expect(recs.every((x) => x.status === ItemStatus.OK)).toBe(true);
    expect(decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds(recs.map((x) => x.leaseId)))).body).every((s) => s === 0)).toBe(true);
    const look = await w.call(Op.LOOKUP, encodeKeys(k));
    expect(look.header.length).toBeLessThanOrEqual(h.maxFrame);
    const leases = decodeLeaseRecords(look.body);
    expect(leases).toHaveLength(n);
    await w.call(Op.RELEASE, encodeLeaseIds(leases.map((x) => x.leaseId)));
    expect((await w.call(Op.EXISTS, encodeKeys(keys(3, n + 1)))).header.status).toBe(Status.BATCH_TOO_LARGE);
  });

  it('keeps STATS within the frame: past it the namespace and slab lists are left out', async () => {
    const ws: Wire[] = [];
    for (let i = 0; i < 12; i++) {
      const w = await wire(small);
      await hello(w, `${String(i).padStart(3, '0')}-${'n'.repeat(250)}`, 4 * KiB);
      ws.push(w);
    }
    const r = await (ws[0] as Wire).call(Op.STATS);
    expect(r.header.status).toBe(Status.OK);
    expect(r.header.length).toBeLessThanOrEqual(4 * KiB);
    const s = decodeJson(r.body) as { truncated?: boolean; namespaces: unknown[]; namespace: { name: string } | null };
    expect(s.truncated).toBe(true);
    expect(s.namespaces).toEqual([]);
    expect(s.namespace?.name).toMatch(/^000-/);
  });

  it('refuses a max frame too small for the HELLO reply (BRX_ERR_KV_CONFIG)', () => {
    const opts = shardOptions({ maxFrame: 4 * KiB });
    const paths = Array.from({ length: 80 }, (_, i) => `/dev/shm/brixlet/a-rather-long-directory-name/slab-0a0b0c0d-${String(i).padStart(4, '0')}`);
    const make = () =>
      new LeaseServer(new KvShard(opts), { ...opts, slabPaths: paths, slabSize: opts.slabSize, summary: () => ({}) }, noopKvMetrics, log);
    let err: unknown;
    try {
      make();
    } catch (e) {
      err = e;
    }
    expect(isBrixletError(err) && err.code === 'BRX_ERR_KV_CONFIG').toBe(true);
    expect(String(err)).toMatch(/max-frame/);
    // Room for the HELLO reply but not for one lease record.
    const tiny = { ...opts, maxFrame: 56 };
    expect(() => new LeaseServer(new KvShard(tiny), { ...tiny, slabPaths: [], slabSize: tiny.slabSize, summary: () => ({}) }, noopKvMetrics, log)).toThrow(/batch of one key/);
  });
});

describe('every cached block\'s parent is cached', () => {
  it('stops a chain ALLOC at its first failed item (BAD_LENGTH → NO_PARENT after it)', async () => {
    const w = await wire();
    await hello(w, 'chain1');
    const recs = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(1, 3), [MiB, MiB + 1, MiB]))).body);
    expect(recs.map((r) => r.status)).toEqual([ItemStatus.OK, ItemStatus.BAD_LENGTH, ItemStatus.NO_PARENT]);
    expect(recs[2]).toMatchObject({ leaseId: 0, slab: 0, offset: 0, length: 0 });
    await w.call(Op.SEAL, encodeLeaseIds([recs[0]?.leaseId ?? 0]));
    // Nothing was cached after the hole: a lookup from the third key finds nothing.
    expect(decodeU32((await w.call(Op.EXISTS, encodeKeys(keys(1, 1, 2)))).body, 'hits')).toBe(0);
  });

  it('fails SEAL of a child whose parent was DROPped, and of a child sealed before its parent', async () => {
    const w = await wire();
    await hello(w, 'chain2');
    const a = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(2, 2), [MiB, MiB]))).body);
    expect(decodeItemStatuses((await w.call(Op.DROP, encodeLeaseIds([a[0]?.leaseId ?? 0]))).body)).toEqual(Uint8Array.of(0));
    expect(decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([a[1]?.leaseId ?? 0]))).body)).toEqual(Uint8Array.of(ItemStatus.NO_PARENT));
    // The refused child's lease ended with it.
    expect(decodeItemStatuses((await w.call(Op.DROP, encodeLeaseIds([a[1]?.leaseId ?? 0]))).body)).toEqual(Uint8Array.of(ItemStatus.UNKNOWN_LEASE));
    expect(decodeU32((await w.call(Op.EXISTS, encodeKeys(keys(2, 1, 1)))).body, 'hits')).toBe(0);

    const b = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(3, 2), [MiB, MiB]))).body);
    const sealed = decodeItemStatuses((await w.call(Op.SEAL, encodeLeaseIds([b[1]?.leaseId ?? 0, b[0]?.leaseId ?? 0]))).body);
    expect([...sealed]).toEqual([ItemStatus.NO_PARENT, ItemStatus.OK]);
    expect(decodeU32((await w.call(Op.EXISTS, encodeKeys(keys(3, 2)))).body, 'hits')).toBe(1);
    expect(service.summary().leases).toEqual({ read: 0, write: 0 });
  });

  it('refuses an ALLOC whose PARENT key is not cached', async () => {
    const w = await wire();
    await hello(w, 'chain3');
    const recs = decodeLeaseRecords((await w.call(Op.ALLOC, encodeAlloc(keys(4, 2), [MiB, MiB], { parent: keys(99, 1) }))).body);
    expect(recs.map((r) => r.status)).toEqual([ItemStatus.NO_PARENT, ItemStatus.NO_PARENT]);
  });
});
