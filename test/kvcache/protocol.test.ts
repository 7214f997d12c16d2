import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  HEADER_BYTES,
  ItemStatus,
  Op,
  REPLY_BIT,
  Status,
  decodeAlloc,
  decodeError,
  decodeHello,
  decodeHelloReply,
  decodeLookupRemote,
  encodeLookupRemote,
  HelloFeature,
  LookupRemoteFlag,
  MAX_REMOTE_BUDGET_MS,
  decodeItemStatuses,
  decodeJson,
  decodeKeys,
  decodeLeaseIds,
  decodeLeaseRecords,
  encodeAlloc,
  encodeError,
  encodeHello,
  encodeHelloReply,
  encodeItemStatuses,
  encodeJson,
  encodeKeys,
  encodeLeaseIds,
  encodeLeaseRecords,
  frame,
  itemStatusName,
  opName,
  readHeader,
  statusName,
  writeLeaseRecord,
} from '../../src/kvcache/protocol.js';
import { ProtocolError } from '../../src/kvcache/protocol.js';
import { statusOf } from './shard-fixture.js';

describe('kv protocol frames', () => {
  it('matches the byte layout in docs/kv-protocol.md (HELLO example)', () => {
    const f = frame(Op.HELLO, 1, encodeHello({ namespace: 'demo', layout: '', blockSize: 1 << 20 }));
    expect(f.toString('hex')).toBe('1e000000424b0201010000000000000004' + '64656d6f' + '00' + '00001000' + '00000000');
  });

  it('splits a stream cut at every byte into the same frames', () => {
    const a = frame(Op.PING, 7, undefined);
    const b = frame(Op.EXISTS, 8, encodeKeys(Buffer.alloc(32, 1)));
    const stream = Buffer.concat([a, b]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new FrameReader(1024);
      r.push(stream.subarray(0, cut));
      const got: number[] = [];
      for (let f = r.next(); f !== undefined; f = r.next()) got.push(f.header.requestId);
      r.push(stream.subarray(cut));
      for (let f = r.next(); f !== undefined; f = r.next()) got.push(f.header.requestId);
      expect(got).toEqual([7, 8]);
      expect(r.pending).toBe(0);
    }
  });

  it('rejects bad magic, version, short and oversized frames with the documented status', () => {
    const good = frame(Op.PING, 1, undefined);
    const badMagic = Buffer.from(good);
    badMagic.writeUInt16LE(0x1234, 4);
    expect(statusOf(() => readHeader(badMagic, 1024))).toBe(Status.BAD_FRAME);
    const badVersion = Buffer.from(good);
    badVersion.writeUInt8(9, 6);
    expect(statusOf(() => readHeader(badVersion, 1024))).toBe(Status.BAD_VERSION);
    const short = Buffer.from(good);
    short.writeUInt32LE(3, 0);
    expect(statusOf(() => readHeader(short, 1024))).toBe(Status.BAD_FRAME);
    const big = Buffer.from(good);
    big.writeUInt32LE(4096, 0);
    expect(statusOf(() => readHeader(big, 1024))).toBe(Status.FRAME_TOO_LARGE);
  });

  it('LOOKUP_REMOTE: u16 budget + u16 flags reads as the old u32 budget; budgets clip to 1 min; unknown flags are BAD_FRAME', () => {
    const chain = Buffer.alloc(32, 9);
    // A body with the earlier u32 budget field (any budget up to 65535 ms) is the same bytes.
    const old = Buffer.alloc(8 + 32);
    old.writeUInt32LE(2, 0);
    old.writeUInt32LE(65535, 4);
    chain.copy(old, 8);
    expect(decodeLookupRemote(old, 16)).toEqual({ keys: chain, budgetMs: 65535, flags: 0 });
    expect(encodeLookupRemote(chain, 200).equals(Buffer.concat([Buffer.from([2, 0, 0, 0, 200, 0, 0, 0]), chain]))).toBe(true);
    expect(decodeLookupRemote(encodeLookupRemote(chain, 10 * 60_000), 16).budgetMs).toBe(MAX_REMOTE_BUDGET_MS);
    expect(decodeLookupRemote(encodeLookupRemote(chain, -5), 16).budgetMs).toBe(0);
    for (const flags of [2, 0x8000, 0xffff]) {
      const body = encodeLookupRemote(chain, 20);
      body.writeUInt16LE(flags, 6);
      expect(statusOf(() => decodeLookupRemote(body, 16)), String(flags)).toBe(Status.BAD_FRAME);
    }
  });

  it('round-trips every body', () => {
    expect(decodeHello(encodeHello({ namespace: 'm/tp0', layout: 'ncld16', blockSize: 4096 }))).toEqual({ namespace: 'm/tp0', layout: Buffer.from('ncld16'), blockSize: 4096 });
    const hr = { sessionId: 3, leaseTtlMs: 30000, maxBatch: 4096, maxFrame: 1 << 20, slotSize: 8192, slabSize: 2 ** 32, slabs: ['/dev/shm/x/slab-0a0b0c0d-0000', '/dev/shm/x/slab-0a0b0c0d-0001'], features: HelloFeature.REMOTE_READ };
    expect(decodeHelloReply(encodeHelloReply(hr))).toEqual(hr);
    const chain = Buffer.alloc(48, 5);
    expect(decodeLookupRemote(encodeLookupRemote(chain, 25), 16)).toEqual({ keys: chain, budgetMs: 25, flags: 0 });
    expect(decodeLookupRemote(encodeLookupRemote(chain, 25, LookupRemoteFlag.FETCH_ALL), 16)).toEqual({ keys: chain, budgetMs: 25, flags: 1 });
    expect(statusOf(() => decodeLookupRemote(encodeLookupRemote(chain, 25), 2))).toBe(Status.BATCH_TOO_LARGE);
    const keys = Buffer.alloc(48);
    for (let i = 0; i < 48; i++) keys[i] = i;
    expect(decodeKeys(encodeKeys(keys), 10).equals(keys)).toBe(true);
    const parent = Buffer.alloc(16, 0xaa);
    const alloc = decodeAlloc(encodeAlloc(keys, [1, 2, 3], { parent }), 10);
    expect([...alloc.lengths]).toEqual([1, 2, 3]);
    expect(alloc.keys.equals(keys)).toBe(true);
    expect(alloc.parent?.equals(parent)).toBe(true);
    expect(alloc.flags).toBe(1);
    expect(decodeAlloc(encodeAlloc(keys, [1, 2, 3], { independent: true }), 10).flags).toBe(2);
    expect([...decodeLeaseIds(encodeLeaseIds([1, 2 ** 32 - 1]), 10)]).toEqual([1, 2 ** 32 - 1]);
    const st = Uint8Array.from([ItemStatus.OK, ItemStatus.UNKNOWN_LEASE, 0, 0, 6]);
    const enc = encodeItemStatuses(st);
    expect(enc.length % 4).toBe(0);
    expect([...decodeItemStatuses(enc)]).toEqual([...st]);
    const rec = { leaseId: 9, slab: 2, offset: 5 * 2 ** 32 + 4096, length: 1 << 20, status: 0 };
    expect(decodeLeaseRecords(encodeLeaseRecords(1, (out, at) => writeLeaseRecord(out, at, rec)))).toEqual([rec]);
    expect(decodeJson(encodeJson({ a: [1, 'x'] }))).toEqual({ a: [1, 'x'] });
    expect(decodeError(encodeError('boom'))).toBe('boom');
  });

  it('rejects truncated, trailing and oversized bodies', () => {
    const keys = encodeKeys(Buffer.alloc(32));
    expect(statusOf(() => decodeKeys(keys.subarray(0, keys.length - 1), 10))).toBe(Status.BAD_FRAME);
    expect(statusOf(() => decodeKeys(Buffer.concat([keys, Buffer.alloc(1)]), 10))).toBe(Status.BAD_FRAME);
    expect(statusOf(() => decodeKeys(keys, 1))).toBe(Status.BATCH_TOO_LARGE);
    const alloc = encodeAlloc(Buffer.alloc(16), [5]);
    alloc.writeUInt32LE(8, 4);
    expect(statusOf(() => decodeAlloc(alloc, 10))).toBe(Status.BAD_FRAME);
    expect(statusOf(() => encodeHello({ namespace: 'x'.repeat(256), layout: '', blockSize: 4096 }))).toBe(Status.BAD_HELLO);
  });

  it('never throws anything but ProtocolError on random bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const b = Buffer.from(bytes);
        for (const dec of [() => decodeHello(b), () => decodeKeys(b, 64), () => decodeAlloc(b, 64), () => decodeLeaseIds(b, 64)]) {
          try {
            dec();
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('names ops and statuses', () => {
    expect(opName(Op.ALLOC | REPLY_BIT)).toBe('ALLOC');
    expect(opName(0x7f)).toBe('0x7f');
    expect(statusName(Status.LAYOUT_MISMATCH)).toBe('LAYOUT_MISMATCH');
    expect(itemStatusName(ItemStatus.QUOTA)).toBe('QUOTA');
    expect(HEADER_BYTES).toBe(16);
  });
});
