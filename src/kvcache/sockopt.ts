/**
 * getsockopt/setsockopt on a Node socket's descriptor through libc with koffi (Node has no API for
 * SO_PEERCRED, SO_PEERGROUPS or SO_RCVLOWAT). The functions are bound once, on first use; loading
 * libc throws where it is missing, and callers decide what that means for them.
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';

export const SOL_SOCKET = 1;

type SockOpt = (fd: number, level: number, name: number, value: Buffer, length: Buffer | number) => number;
let bound: { get: SockOpt; set: SockOpt } | undefined;

function libc(): { get: SockOpt; set: SockOpt } {
  if (bound === undefined) {
    const lib = koffi.load('libc.so.6');
    const get = lib.func('int getsockopt(int fd, int level, int optname, void *optval, void *optlen)');
    const set = lib.func('int setsockopt(int fd, int level, int optname, void *optval, uint32_t optlen)');
    bound = { get: (...a) => get(...a) as number, set: (...a) => set(...a) as number };
  }
  return bound;
}

/** getsockopt(2): `length` holds the value's size on entry and the size written on return; 0 = done. */
export function getsockopt(fd: number, level: number, name: number, value: Buffer, length: Buffer): number {
  return libc().get(fd, level, name, value, length);
}

/** setsockopt(2) of `value`'s bytes; 0 = done. */
export function setsockopt(fd: number, level: number, name: number, value: Buffer): number {
  return libc().set(fd, level, name, value, value.length);
}

/** The socket's descriptor on Linux; undefined elsewhere or while it has none. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return process.platform === 'linux' && typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
