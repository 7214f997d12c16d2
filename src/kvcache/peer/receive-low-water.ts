/**
 * SO_RCVLOWAT of a connected TCP socket (Linux): the kernel reports the socket readable only once
 * this many bytes are queued (or the stream ended), so a large reply is read in fewer, larger reads
 * and the sender wakes the reader less often (on loopback the sender's core runs the receiver's TCP
 * input, wake-ups included). Node has no API for it, so it is set through libc with koffi, as
 * peer-cred.ts reads SO_PEERCRED. Where it cannot be set (no fd, not Linux, libc refuses) the socket
 * keeps the kernel's default of 1 byte and nothing else changes.
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_RCVLOWAT = 18;

type SockOpt = (fd: number, level: number, name: number, value: Buffer, length: Buffer | number) => number;
let libc: { set: SockOpt; get: SockOpt } | undefined | null;

function sockopt(): { set: SockOpt; get: SockOpt } | undefined {
  if (libc === undefined) {
    try {
      const lib = koffi.load('libc.so.6');
      const set = lib.func('int setsockopt(int fd, int level, int optname, void *optval, uint32_t optlen)');
      const get = lib.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)');
      libc = { set: (...a) => set(...a) as number, get: (...a) => get(...a) as number };
    } catch {
      libc = null;
    }
  }
  return libc ?? undefined;
}

function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return process.platform === 'linux' && typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

const value = Buffer.alloc(4);

/** Sets the socket's receive low-water mark (bytes ≥ 1); false when it could not be set. */
export function setReceiveLowWater(socket: Socket, bytes: number): boolean {
  const fd = fdOf(socket);
  const fns = fd === undefined ? undefined : sockopt();
  if (fd === undefined || fns === undefined) return false;
  value.writeInt32LE(Math.max(1, Math.min(bytes, 0x7fffffff)), 0);
  return fns.set(fd, SOL_SOCKET, SO_RCVLOWAT, value, 4) === 0;
}

/** The socket's receive low-water mark as the kernel holds it; undefined where it cannot be read. */
export function receiveLowWater(socket: Socket): number | undefined {
  const fd = fdOf(socket);
  const fns = fd === undefined ? undefined : sockopt();
  if (fd === undefined || fns === undefined) return undefined;
  const out = Buffer.alloc(4);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(4, 0);
  return fns.get(fd, SOL_SOCKET, SO_RCVLOWAT, out, length) === 0 ? out.readInt32LE(0) : undefined;
}
