import { afterEach, describe, expect, it } from 'vitest';
import { KvConnection } from '../../../src/kvcache/client/connection.js';
import { Op, Status, encodeError, encodeU32, frame } from '../../../src/kvcache/protocol.js';
import { type FakeShard, type FrameHandler, ok, refuse, startFakeShard } from './fake-shard.js';

let shard: FakeShard | undefined;
let conn: KvConnection | undefined;
afterEach(async () => {
  await conn?.close();
  await shard?.close();
  conn = undefined;
  shard = undefined;
});

async function open(handler: FrameHandler, timeoutMs = 2000): Promise<KvConnection> {
  shard = await startFakeShard(handler);
  conn = await KvConnection.open({ socketPath: shard.path, timeoutMs });
  return conn;
}

describe('KvConnection', () => {
  it('pipelines requests and settles each with its own reply, even when replies arrive together', async () => {
    const held: Buffer[] = [];
    const c = await open((socket, h, body) => {
      held.push(ok(h, encodeU32(body.readUInt32LE(4) * 10)));
      if (held.length === 3) socket.write(Buffer.concat(held.splice(0)));
    });
    const bodies = [1, 2, 3].map((v) => {
      const b = Buffer.alloc(20);
      b.writeUInt32LE(1, 0);
      b.writeUInt32LE(v, 4);
      return b;
    });
    const replies = await Promise.all(bodies.map((b) => c.request(Op.EXISTS, b)));
    expect(replies.map((r) => r.readUInt32LE(0))).toEqual([10, 20, 30]);
    expect(c.inFlight).toBe(0);
  });

  it('reassembles a reply split across many writes', async () => {
    const c = await open((socket, h) => {
      const whole = ok(h, Buffer.alloc(5000, 7));
      for (let i = 0; i < whole.length; i += 333) socket.write(whole.subarray(i, i + 333));
    });
    const body = await c.request(Op.PING);
    expect(body.length).toBe(5000);
    expect(body.every((b) => b === 7)).toBe(true);
  });

  it('turns a kept status reply into BRX_ERR_KV_PROTOCOL and stays usable', async () => {
    const c = await open((socket, h) => socket.write(h.op === Op.LOOKUP ? refuse(h, Status.NO_HELLO, 'send HELLO first') : ok(h)));
    await expect(c.request(Op.LOOKUP, encodeU32(0))).rejects.toMatchObject({
      code: 'BRX_ERR_KV_PROTOCOL',
      params: { op: 'LOOKUP', status: 'NO_HELLO', message: 'send HELLO first' },
    });
    await expect(c.request(Op.PING)).resolves.toHaveLength(0);
    expect(c.closed).toBe(false);
  });

  it('fails the request with the closing status and every later one with BRX_ERR_KV_CONNECT', async () => {
    const c = await open((socket, h) => {
      socket.write(refuse(h, Status.BAD_FRAME, 'bad body'));
      socket.end();
    });
    const [first, second] = await Promise.allSettled([c.request(Op.STATS), c.request(Op.PING)]);
    expect(first).toMatchObject({ status: 'rejected', reason: { code: 'BRX_ERR_KV_PROTOCOL', params: { op: 'STATS', status: 'BAD_FRAME' } } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'BRX_ERR_KV_CONNECT' } });
    await expect(c.request(Op.PING)).rejects.toMatchObject({ code: 'BRX_ERR_KV_CONNECT' });
  });

  it('fails every pending request with an unsolicited status frame (id 0, op 0x80) instead of calling it malformed', async () => {
    const c = await open((socket) => {
      socket.write(frame(0x80, 0, encodeError('the agent is stopping'), Status.SHUTTING_DOWN));
      socket.end();
    });
    const [first, second] = await Promise.allSettled([c.request(Op.STATS), c.request(Op.PING)]);
    for (const r of [first, second]) {
      expect(r).toMatchObject({ status: 'rejected', reason: { code: 'BRX_ERR_KV_PROTOCOL', params: { op: 'STATS', status: 'SHUTTING_DOWN', message: 'the agent is stopping' } } });
    }
    expect(c.closed).toBe(true);
  });

  it('rejects a reply with a bad magic as a malformed reply and closes', async () => {
    const c = await open((socket, h) => {
      const bad = ok(h);
      bad.writeUInt16LE(0xdead, 4);
      socket.write(bad);
    });
    await expect(c.request(Op.PING)).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', params: { op: 'PING', status: 'BAD_FRAME' } });
    expect(c.closed).toBe(true);
  });

  it('rejects a reply to another request id', async () => {
    const c = await open((socket, h) => socket.write(frame(h.op | 0x80, h.requestId + 7, undefined)));
    await expect(c.request(Op.PING)).rejects.toMatchObject({ code: 'BRX_ERR_KV_PROTOCOL', message: expect.stringMatching(/unexpected reply PING id/) });
  });

  it('reports a connection closed in the middle of a reply', async () => {
    const c = await open((socket, h) => {
      socket.write(ok(h, Buffer.alloc(100)).subarray(0, 40));
      socket.end();
    });
    await expect(c.request(Op.PING)).rejects.toMatchObject({
      code: 'BRX_ERR_KV_CONNECT',
      params: { reason: 'the shard closed the connection in the middle of a reply' },
    });
  });

  it('times out pending requests when the shard goes silent', async () => {
    const c = await open(() => {}, 150);
    const started = Date.now();
    await expect(c.request(Op.PING)).rejects.toMatchObject({ code: 'BRX_ERR_KV_CONNECT', params: { reason: 'no reply within 150 ms' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('fails pending and later requests once the client closes', async () => {
    const c = await open(() => {});
    const settled = Promise.allSettled([c.request(Op.PING)]);
    await c.close();
    expect((await settled)[0]).toMatchObject({ status: 'rejected', reason: { code: 'BRX_ERR_KV_CONNECT', params: { reason: 'the client closed the connection' } } });
    await expect(c.request(Op.PING)).rejects.toMatchObject({ code: 'BRX_ERR_KV_CONNECT' });
    await c.close();
  });

  it('names the path when nothing listens there', async () => {
    await expect(KvConnection.open({ socketPath: '/nonexistent/brixlet/kv.sock' })).rejects.toMatchObject({
      code: 'BRX_ERR_KV_CONNECT',
      params: { path: '/nonexistent/brixlet/kv.sock', reason: 'no socket there (ENOENT)' },
    });
  });
});
