// Fuzzes the lease socket: random valid, mutated and garbage frames from several connections. Every
// reply carries a known status, the shard's accounting stays exact, and a well-behaved client keeps
// being served.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ItemStatus, Op, Status, encodeAlloc, encodeHello, encodeKeys, encodeLeaseIds, frame } from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { MiB, keys, shardOptions } from './shard-fixture.js';
import { Wire } from './wire.js';

let root: string;
let service: KvService;
const STATUSES = new Set<number>(Object.values(Status));

beforeAll(async () => {
  root = mkdtempSync('/dev/shm/brixlet-fuzz-');
  service = await startKvService(shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), slabCount: 1, maxBatch: 64, maxFrame: 64 * 1024 }), {
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await service.close();
  rmSync(root, { recursive: true, force: true });
});

const validBody = fc.oneof(
  fc.record({ op: fc.constant(Op.HELLO), body: fc.constantFrom(encodeHello({ namespace: 'f', layout: '', blockSize: MiB }), encodeHello({ namespace: 'g', layout: 'z', blockSize: 64 * 1024 })) }),
  fc.record({ op: fc.constantFrom(Op.LOOKUP, Op.EXISTS), body: fc.integer({ min: 0, max: 70 }).map((n) => encodeKeys(keys(n % 5, n))) }),
  fc.record({
    op: fc.constant(Op.ALLOC),
    body: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 2 * MiB })).map(([n, len]) => encodeAlloc(keys(n, n), new Array<number>(n).fill(len))),
  }),
  fc.record({ op: fc.constantFrom(Op.SEAL, Op.DROP, Op.RELEASE), body: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 10 }).map((ids) => encodeLeaseIds(ids)) }),
  fc.record({ op: fc.constantFrom(Op.PING, Op.STATS), body: fc.constant(Buffer.alloc(0)) }),
);

const message = fc.oneof(
  { weight: 6, arbitrary: validBody.map(({ op, body }) => frame(op, 1, body)) },
  {
    weight: 3,
    arbitrary: fc.tuple(validBody, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([{ op, body }, at, byte]) => {
      const f = frame(op, 1, body);
      f[at % f.length] = byte;
      return f;
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)) },
);

describe('KV socket fuzz', () => {
  it('answers every frame with a known status and keeps serving others', async () => {
    const witness = await Wire.open(service.socketPath);
    expect((await witness.call(Op.HELLO, encodeHello({ namespace: 'w', layout: '', blockSize: MiB }))).header.status).toBe(0);
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 12 }), async (msgs) => {
        const w = await Wire.open(service.socketPath);
        for (const m of msgs) {
          w.sendRaw(m);
          const r = await Promise.race([w.next(), new Promise<'slow'>((res) => setTimeout(() => res('slow'), 50))]);
          if (r === undefined) break;
          if (r !== 'slow') expect(STATUSES.has(r.header.status)).toBe(true);
        }
        w.close();
        await w.ended;
        expect((await witness.call(Op.PING)).header.status).toBe(0);
      }),
      { numRuns: 150 },
    );
    // Closed connections release their leases when the shard sees the close: wait for that.
    await vi.waitFor(() => expect(service.summary().leases).toEqual({ read: 0, write: 0 }), { timeout: 15_000 });
    const s = service.summary();
    expect(s.bytesByState.writing).toBe(0);
    expect(s.bytesByState.free + s.bytesByState.sealed).toBe(s.capacityBytes);
    // The witness can still write and read a block.
    const a = await witness.call(Op.ALLOC, encodeAlloc(keys(77, 1), [MiB]));
    expect(a.body.readUInt8(4 + 20)).toBe(ItemStatus.OK);
    const lease = a.body.readUInt32LE(4);
    expect((await witness.call(Op.SEAL, encodeLeaseIds([lease]))).body.readUInt8(4)).toBe(0);
    expect((await witness.call(Op.EXISTS, encodeKeys(keys(77, 1)))).body.readUInt32LE(0)).toBe(1);
    witness.close();
  });
});
