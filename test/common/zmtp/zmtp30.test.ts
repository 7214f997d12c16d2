// ZMTP 3.0 peers send subscriptions as messages (0x01/0x00 + topic) rather than SUBSCRIBE/CANCEL
// commands: the PUB honours both, and the SUB writes the form its peer's version expects.
import { createConnection, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ZmtpPubSocket, ZmtpSubSocket } from '../../../src/common/zmtp/sockets.js';
import { encodeCommand, encodeGreeting, encodeMessage, encodeMetadata, FrameReader, type FrameEvent } from '../../../src/common/zmtp/wire.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

const greeting30 = (asServer: boolean) => {
  const g = encodeGreeting(asServer);
  g[11] = 0;
  return g;
};

describe('ZMTP 3.0 subscriptions', () => {
  it('PUB takes 0x01/0x00 messages from a 3.0 SUB and filters on them', async () => {
    const pub = new ZmtpPubSocket();
    await pub.bind('tcp://127.0.0.1:0');
    const port = Number(pub.endpoint.split(':').at(-1));
    const s = createConnection(port, '127.0.0.1');
    const reader = new FrameReader({ maxFrameBytes: 1 << 20, maxMessageFrames: 16 });
    const got: FrameEvent[] = [];
    let skipped = false;
    s.on('data', (d: Buffer) => {
      reader.push(d);
      if (!skipped) {
        if (reader.bufferedBytes < 64) return;
        reader.take(64);
        skipped = true;
      }
      for (let ev = reader.next(); ev !== undefined; ev = reader.next()) got.push(ev);
    });
    s.write(Buffer.concat([greeting30(false), encodeCommand('READY', encodeMetadata({ 'Socket-Type': 'SUB' })), ...encodeMessage([Buffer.from('\x01ab')])]));
    await until(() => pub.subscriptionCount === 1, 'subscription');
    pub.send([Buffer.from('abc'), Buffer.from('1')]);
    pub.send([Buffer.from('x'), Buffer.from('2')]);
    await until(() => got.some((e) => e.kind === 'message'), 'message');
    s.write(Buffer.concat(encodeMessage([Buffer.from('\x00ab')])));
    await until(() => pub.subscriptionCount === 0, 'cancel');
    const messages = got.filter((e) => e.kind === 'message');
    expect(messages.map((m) => (m.kind === 'message' ? m.frames.map(String) : []))).toEqual([['abc', '1']]);
    s.destroy();
    await pub.close();
  });

  it('SUB sends the message form to a 3.0 PUB', async () => {
    let received: Buffer = Buffer.alloc(0);
    const sockets: Socket[] = [];
    const server = createServer((c) => {
      sockets.push(c);
      c.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      c.write(Buffer.concat([greeting30(true), encodeCommand('READY', encodeMetadata({ 'Socket-Type': 'PUB' }))]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sub = new ZmtpSubSocket(() => undefined);
    sub.subscribe('kv');
    sub.connect(`tcp://127.0.0.1:${(server.address() as { port: number }).port}`);
    const want = Buffer.concat(encodeMessage([Buffer.from('\x01kv')]));
    await until(() => received.includes(want), 'the subscription message');
    await sub.close();
    for (const c of sockets) c.destroy();
    await new Promise((r) => server.close(r));
  });
});
