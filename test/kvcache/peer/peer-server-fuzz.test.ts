// Fuzzes the peer listener: random, mutated and garbage frames, before and after a real handshake.
// Every reply carries a known status, no pin is left behind, and a good client is served afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PeerClient } from '../../../src/kvcache/peer/peer-client.js';
import { PUBLISH_ITEM_BYTES, PeerOp, PeerStatus, encodeDirectoryLookup, encodeMexists, encodeMget, encodePeerHello, encodePublish, peerFrame } from '../../../src/kvcache/peer/peer-protocol.js';
import { keys } from '../shard-fixture.js';
import { KiB, type PeerRig, putChain, startPeerRig } from './peer-fixture.js';
import { PeerWire } from './peer-wire.js';

let rig: PeerRig;
let chain: Buffer;
const STATUSES = new Set<number>(Object.values(PeerStatus));

beforeAll(async () => {
  rig = await startPeerRig({ limits: { maxBatch: 64, maxFrame: 16 * KiB, maxMgetBytes: 4 << 20 } }, { directory: true });
  chain = await putChain(rig.services.get('default')!, 'ns', 1, 4, 64 * KiB);
});

afterAll(async () => {
  await rig.close();
});

const validBody = fc.oneof(
  fc.record({ op: fc.constant(PeerOp.HELLO), count: fc.constant(0), body: fc.constantFrom(encodePeerHello({ node: 'b', pool: 'default', nonce: Buffer.alloc(32, 1) }), encodePeerHello({ node: 'x', pool: 'p', nonce: Buffer.alloc(32) })) }),
  fc.record({ op: fc.constant(PeerOp.AUTH), count: fc.constant(0), body: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)) }),
  fc.record({ op: fc.constant(PeerOp.PING), count: fc.constant(0), body: fc.constant(Buffer.alloc(0)) }),
  fc.integer({ min: 0, max: 70 }).map((n) => ({ op: PeerOp.MEXISTS, count: n, body: encodeMexists('ns', n <= 4 ? chain.subarray(0, n * 16) : keys(3, n)) })),
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 1 << 20 })).map(([n, len]) => ({ op: PeerOp.MGET, count: n, body: encodeMget('ns', n <= 4 ? chain.subarray(0, n * 16) : keys(3, n), new Array<number>(n).fill(len)) })),
  fc.record({ op: fc.constantFrom(PeerOp.PUBLISH, PeerOp.DIRECTORY_LOOKUP, 0x42), count: fc.nat({ max: 3 }), body: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
  // Well-formed directory ops (any kind byte, up to past the batch limit), so the mutations below reach the handlers.
  fc.tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 3 })).map(([n, kind]) => {
    const items = Buffer.alloc(n * PUBLISH_ITEM_BYTES);
    for (let i = 0; i < n; i++) {
      keys(5, 1, i).copy(items, i * PUBLISH_ITEM_BYTES);
      items[i * PUBLISH_ITEM_BYTES + 20] = kind;
    }
    return { op: PeerOp.PUBLISH, count: n, body: encodePublish('ns', items) };
  }),
  fc.integer({ min: 0, max: 70 }).map((n) => ({ op: PeerOp.DIRECTORY_LOOKUP, count: n, body: encodeDirectoryLookup('ns', keys(5, n)) })),
);

const mutated = fc.oneof(
  { weight: 6, arbitrary: validBody.map(({ op, count, body }) => peerFrame(op, 1, body, { count })) },
  {
    weight: 3,
    arbitrary: fc.tuple(validBody, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([{ op, count, body }, at, byte]) => {
      const f = peerFrame(op, 1, body, { count });
      f[at % f.length] = byte;
      return f;
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)) },
);

describe('peer listener fuzz', () => {
  it('answers every frame with a known status, releases every pin and keeps serving', async () => {
    const shard = rig.services.get('default')!.blocks!.shard;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(mutated, { minLength: 1, maxLength: 10 }), async (authenticated, msgs) => {
        const w = await PeerWire.open(rig.port);
        if (authenticated) expect((await w.handshake({ self: 'b', server: 'a', pool: 'default', key: rig.key })).reply?.header.status).toBe(0);
        for (const m of msgs) {
          w.send(m);
          const r = await Promise.race([w.next(), new Promise<'slow'>((res) => setTimeout(() => res('slow'), 30))]);
          if (r === undefined) break;
          if (r !== 'slow') expect(STATUSES.has(r.header.status)).toBe(true);
        }
        w.close();
        await w.ended;
      }),
      { numRuns: 120 },
    );
    await vi.waitFor(() => expect(shard.leases().read).toBe(0), { timeout: 15_000 });
    const c = new PeerClient({ self: 'b', pool: 'default', membership: rig.bMembership, deadlineMs: 20_000 });
    const r = await c.mget('a', 'ns', chain, Array.from({ length: 4 }, () => new Uint8Array(64 * KiB)));
    expect([...r.lengths]).toEqual([64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB]);
    await c.close();
  });
});
