// A scripted stand-in for the shard socket: hands every request frame to a test handler, which
// writes whatever bytes it likes back (good replies, broken frames, nothing at all).
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FrameHeader, FrameReader, REPLY_BIT, encodeError, frame } from '../../../src/kvcache/protocol.js';

export type FrameHandler = (socket: Socket, header: FrameHeader, body: Buffer) => void;

export interface FakeShard {
  readonly path: string;
  close(): Promise<void>;
}

export async function startFakeShard(handler: FrameHandler): Promise<FakeShard> {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-fake-shard-'));
  const path = join(dir, 'kv.sock');
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (let f = reader.next(); f !== undefined; f = reader.next()) handler(socket, f.header, f.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The OK reply to a request. */
export function ok(header: FrameHeader, body?: Buffer): Buffer {
  return frame(header.op | REPLY_BIT, header.requestId, body);
}

/** A status reply with its message body. */
export function refuse(header: FrameHeader, status: number, message: string): Buffer {
  return frame(header.op | REPLY_BIT, header.requestId, encodeError(message), status);
}
