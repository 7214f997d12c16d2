import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvEventDecodeError, blockHashToWire, decodeKvEventBatch, encodeKvEventBatch, normaliseBlockHash } from '../../../src/common/kv-events/codec.js';
import type { KvEvent, KvEventBatch } from '../../../src/common/kv-events/types.js';

const enc = (v: unknown) => encode(v, { useBigInt64: true });

describe('KV event codec', () => {
  it('decodes the v0.9 positional form (no medium, no lora_name)', () => {
    const b = decodeKvEventBatch(enc([1.5, [['BlockStored', [11, 12], null, [1, 2, 3, 4], 2, null], ['BlockRemoved', [7]], ['AllBlocksCleared']]]));
    expect(b).toEqual({
      ts: 1.5,
      dataParallelRank: null,
      events: [
        { type: 'BlockStored', blockHashes: ['11', '12'], parentBlockHash: null, tokenIds: [1, 2, 3, 4], blockSize: 2, loraId: null, medium: null, loraName: null },
        { type: 'BlockRemoved', blockHashes: ['7'], medium: null },
        { type: 'AllBlocksCleared' },
      ],
    });
  });

  it('decodes later revisions: medium, lora_name, extra_keys, group_idx, spec kind, and the dp rank', () => {
    const b = decodeKvEventBatch(enc([2, [['BlockStored', [1], 9, [5], 1, 3, 'CPU', 'ad', [['mm', 0]], 1, 'full', null], ['BlockRemoved', [1], 'GPU', 2]], 4]));
    expect(b.dataParallelRank).toBe(4);
    expect(b.events[0]).toEqual({ type: 'BlockStored', blockHashes: ['1'], parentBlockHash: '9', tokenIds: [5], blockSize: 1, loraId: 3, medium: 'CPU', loraName: 'ad', groupIdx: 1 });
    expect(b.events[1]).toEqual({ type: 'BlockRemoved', blockHashes: ['1'], medium: 'GPU', groupIdx: 2 });
  });

  it('decodes the map form', () => {
    const b = decodeKvEventBatch(enc({ ts: 3.25, events: [{ type: 'BlockStored', block_hashes: [1], parent_block_hash: null, token_ids: [], block_size: 16, lora_id: null, medium: 'BRIXLET' }, { type: 'AllBlocksCleared' }], data_parallel_rank: null }));
    expect(b.events[0]).toMatchObject({ type: 'BlockStored', blockHashes: ['1'], blockSize: 16, medium: 'BRIXLET', tokenIds: [] });
    expect(b.events[1]).toEqual({ type: 'AllBlocksCleared' });
  });

  it('keeps u64 hashes above 2^53 exact and turns bytes into 0x hex', () => {
    const big = 2n ** 64n - 3n;
    const b = decodeKvEventBatch(enc([0, [['BlockRemoved', [big, Uint8Array.from([0xab, 0x01])], 'GPU']]]));
    expect(b.events[0]).toMatchObject({ blockHashes: ['18446744073709551613', '0xab01'] });
    expect(blockHashToWire('18446744073709551613')).toBe(big);
    expect(blockHashToWire('42')).toBe(42);
    expect(Buffer.from(blockHashToWire('0xab01') as Uint8Array)).toEqual(Buffer.from([0xab, 0x01]));
    expect(normaliseBlockHash(2n ** 63n)).toBe('9223372036854775808');
  });

  it('encodes vLLM\'s positional form with trailing defaults omitted (byte vector)', () => {
    const batch: KvEventBatch = {
      ts: 1.5,
      dataParallelRank: null,
      events: [
        { type: 'BlockStored', blockHashes: ['1'], parentBlockHash: null, tokenIds: [7], blockSize: 1, loraId: null, medium: 'GPU', loraName: null },
        { type: 'BlockRemoved', blockHashes: ['1'], medium: null },
      ],
    };
    const bytes = Buffer.from(encodeKvEventBatch(batch));
    // [1.5, [["BlockStored", [1], nil, [7], 1, nil, "GPU"], ["BlockRemoved", [1], nil]]]
    const want = Buffer.concat([
      Buffer.from([0x92, 0xcb]),
      Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0x92, 0x97, 0xab]),
      Buffer.from('BlockStored'),
      Buffer.from([0x91, 0x01, 0xc0, 0x91, 0x07, 0x01, 0xc0, 0xa3]),
      Buffer.from('GPU'),
      Buffer.from([0x93, 0xac]),
      Buffer.from('BlockRemoved'),
      Buffer.from([0x91, 0x01, 0xc0]),
    ]);
    expect(bytes.toString('hex')).toBe(want.toString('hex'));
  });

  const hash = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((b) => b.toString()), fc.uint8Array({ minLength: 1, maxLength: 32 }).map((u) => `0x${Buffer.from(u).toString('hex')}`));
  const event: fc.Arbitrary<KvEvent> = fc.oneof(
    fc.record({
      type: fc.constant('BlockStored' as const),
      blockHashes: fc.array(hash, { maxLength: 4 }),
      parentBlockHash: fc.option(hash),
      tokenIds: fc.array(fc.nat({ max: 200_000 }), { maxLength: 16 }),
      blockSize: fc.integer({ min: 1, max: 256 }),
      loraId: fc.option(fc.nat()),
      medium: fc.option(fc.constantFrom('GPU', 'CPU', 'BRIXLET')),
      loraName: fc.option(fc.string()),
    }),
    fc.record({ type: fc.constant('BlockRemoved' as const), blockHashes: fc.array(hash, { maxLength: 4 }), medium: fc.option(fc.constantFrom('GPU', 'BRIXLET')) }),
    fc.constant({ type: 'AllBlocksCleared' as const }),
  );

  it('round-trips any batch', () => {
    fc.assert(
      fc.property(fc.record({ ts: fc.double({ noNaN: true, noDefaultInfinity: true }), events: fc.array(event, { maxLength: 5 }), dataParallelRank: fc.option(fc.nat()) }), (batch) => {
        expect(decodeKvEventBatch(encodeKvEventBatch(batch))).toEqual({ ...batch, ts: Object.is(batch.ts, -0) ? 0 : batch.ts });
      }),
    );
  });

  it('rejects malformed input with KvEventDecodeError only', () => {
    const bad = [Buffer.from([0xc1]), enc('x'), enc([1]), enc([1, [['Nope']]]), enc([1, [['BlockStored', 'x', null, [], 1]]]), enc([1, [['BlockStored', [1.5], null, [], 1]]]), enc([1, [['BlockStored', [1], null, ['a'], 1]]]), enc([1, [[5]]]), enc(['t', []])];
    for (const b of bad) expect(() => decodeKvEventBatch(b)).toThrow(KvEventDecodeError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeKvEventBatch(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(KvEventDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
