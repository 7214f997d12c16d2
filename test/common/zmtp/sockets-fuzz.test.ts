// Fuzzes the ZMTP listeners (PUB, ROUTER) and a SUB connector with garbage, mutated handshakes, bad
// greetings and oversized frames: each bad peer is dropped and counted, nothing throws, and a
// well-behaved peer keeps being served.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZmtpDealerSocket, ZmtpPubSocket, ZmtpRouterSocket, ZmtpSubSocket } from '../../../src/common/zmtp/sockets.js';
import { encodeCommand, encodeGreeting, encodeMessage, encodeMetadata } from '../../../src/common/zmtp/wire.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const ready = (type: string) => encodeCommand('READY', encodeMetadata({ 'Socket-Type': type }));

/** Writes bytes to a listener and resolves when the listener closes the connection or after a while. */
function poke(port: number, bytes: readonly Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve();
    };
    const t = setTimeout(done, 150);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => undefined);
    s.on('connect', () => {
      for (const b of bytes) s.write(b);
    });
  });
}

const handshake = (type: string) => [encodeGreeting(false), ready(type)];
const mutate = (parts: Buffer[], at: number, byte: number) => {
  const all = Buffer.concat(parts);
  all[at % all.length] = byte;
  return [all];
};

const input = (type: string) =>
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => [Buffer.from(b)]),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => mutate([...handshake(type), ...encodeMessage([Buffer.from([1])])], at, byte)),
    fc.uint8Array({ maxLength: 64 }).map((b) => [...handshake(type), Buffer.from(b)]),
    fc.constant([...handshake(type), Buffer.from([0x02, 0, 0, 0, 0, 0x10, 0, 0, 0])]), // 1 GiB long frame
    fc.constant([...handshake(type), Buffer.from([0x06, 0, 0, 0, 0, 0, 1, 0, 0])]), // 64 KiB command
    fc.constant([...handshake(type), Buffer.from([0x80, 0])]), // reserved flag bit
    fc.constant([Buffer.from('GET / HTTP/1.1\r\n\r\n')]),
    fc.constant([encodeGreeting(false).fill(0x41, 12, 16), ready(type)]), // mechanism "AAAA"
    fc.constant([Buffer.concat([encodeGreeting(false).subarray(0, 10), Buffer.from([2, 0])])]), // ZMTP 2.0
    fc.constant([encodeGreeting(false), ready('PUSH')]), // incompatible socket type
    fc.constant([encodeGreeting(false), encodeCommand('READY', Buffer.from([5, 0x41]))]), // truncated metadata
    fc.constant([...handshake(type), ...encodeMessage(Array.from({ length: 40 }, () => Buffer.from('x')))]), // too many frames
  );

describe('ZMTP listener fuzz', () => {
  let pub: ZmtpPubSocket;
  let router: ZmtpRouterSocket;
  beforeAll(async () => {
    pub = new ZmtpPubSocket({ maxFrameBytes: 1024 * 1024, handshakeTimeoutMs: 2000 });
    router = new ZmtpRouterSocket((id, frames) => router.send(id, frames), { maxFrameBytes: 1024 * 1024, handshakeTimeoutMs: 2000 });
    await pub.bind('tcp://127.0.0.1:0');
    await router.bind('tcp://127.0.0.1:0');
  });
  afterAll(async () => {
    await pub.close();
    await router.close();
  });

  it('drops bad peers on PUB and ROUTER and keeps serving a good SUB and DEALER', async () => {
    const pubPort = Number(pub.endpoint.split(':').at(-1));
    const routerPort = Number(router.endpoint.split(':').at(-1));
    await fc.assert(
      fc.asyncProperty(fc.array(input('SUB'), { minLength: 1, maxLength: 3 }), fc.array(input('DEALER'), { minLength: 1, maxLength: 3 }), async (toPub, toRouter) => {
        await Promise.all([...toPub.map((b) => poke(pubPort, b)), ...toRouter.map((b) => poke(routerPort, b))]);
      }),
      { numRuns: 40 },
    );
    expect(pub.stats.protocolErrors).toBeGreaterThan(0);
    expect(router.stats.protocolErrors).toBeGreaterThan(0);

    const got: Buffer[][] = [];
    const sub = new ZmtpSubSocket((f) => got.push(f));
    sub.subscribe('a');
    sub.connect(pub.endpoint);
    const echoes: Buffer[][] = [];
    const dealer = new ZmtpDealerSocket((f) => echoes.push(f), { identity: Buffer.from('me') });
    dealer.connect(router.endpoint);
    await until(() => pub.subscriptionCount >= 1 && dealer.connected, 'good peers');
    pub.send([Buffer.from('ab'), Buffer.from('x')]);
    pub.send([Buffer.from('b'), Buffer.from('y')]);
    dealer.send([Buffer.from('hi'), Buffer.alloc(300, 7)]);
    await until(() => got.length === 1 && echoes.length === 1, 'messages');
    expect(got[0]!.map((b) => b.toString())).toEqual(['ab', 'x']);
    expect(echoes[0]![1]!.length).toBe(300);
    await sub.close();
    await dealer.close();
  });
});

describe('ZMTP connectors against a bad server', () => {
  let server: Server;
  let port = 0;
  let reply: Buffer = Buffer.alloc(0);
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
      s.write(reply);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('a SUB drops garbage, oversized frames and a wrong socket type, and reconnects', async () => {
    for (const bytes of [
      Buffer.from('garbage that is not a greeting at all, not even close...........................'),
      Buffer.concat([encodeGreeting(true), ready('PUB'), Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]),
      Buffer.concat([encodeGreeting(true), ready('ROUTER')]),
    ]) {
      reply = bytes;
      const errors: string[] = [];
      const sub = new ZmtpSubSocket(() => undefined, { reconnectMinMs: 10, reconnectMaxMs: 20, onProtocolError: (e) => errors.push(e.message) });
      sub.connect(`tcp://127.0.0.1:${port}`);
      await until(() => sub.stats.reconnects >= 2, 'reconnects');
      await sub.close();
      expect(sub.stats.protocolErrors).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/ZMTP peer dropped/);
    }
  });
});
