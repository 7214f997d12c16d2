// getsockopt/setsockopt through libc on a Node socket's descriptor.
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SOL_SOCKET, getsockopt, setsockopt, socketFd } from '../../src/kvcache/sockopt.js';

const SO_RCVBUF = 8;
const SO_RCVLOWAT = 18;
const server = createServer((s) => s.on('error', () => undefined));
let client: Socket;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

it.skipIf(process.platform !== 'linux')('reads back what it set on a connected socket, and reports the value size', () => {
  const fd = socketFd(client);
  expect(fd).toBeGreaterThanOrEqual(0);
  const v = Buffer.alloc(4);
  v.writeInt32LE(4096, 0);
  expect(setsockopt(fd as number, SOL_SOCKET, SO_RCVLOWAT, v)).toBe(0);
  const out = Buffer.alloc(4);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(4, 0);
  expect(getsockopt(fd as number, SOL_SOCKET, SO_RCVLOWAT, out, length)).toBe(0);
  expect(out.readInt32LE(0)).toBe(4096);
  expect(length.readUInt32LE(0)).toBe(4);
  expect(getsockopt(fd as number, SOL_SOCKET, SO_RCVBUF, out, length)).toBe(0);
  expect(out.readInt32LE(0)).toBeGreaterThan(0);
});

it('has no descriptor for a socket that was never connected', () => {
  expect(socketFd(new (client.constructor as new () => Socket)())).toBeUndefined();
});
