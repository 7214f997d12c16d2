/**
 * SO_RCVLOWAT of a connected TCP socket (Linux): the kernel reports the socket readable only once
 * this many bytes are queued (or the stream ended), so a large reply is read in fewer, larger reads
 * and the sender wakes the reader less often (on loopback the sender's core runs the receiver's TCP
 * input, wake-ups included). Node has no API for it, so it is set through libc with koffi, as
 * peer-cred.ts reads SO_PEERCRED. Where it cannot be set (no fd, not Linux, libc refuses) the socket
 * keeps the kernel's default of 1 byte and nothing else changes.
 */
import type { Socket } from 'node:net';
import { SOL_SOCKET, getsockopt, setsockopt, socketFd } from '../sockopt.js';

const SO_RCVLOWAT = 18;
/** Once libc could not be bound, no socket tries again. */
let unavailable = false;

/** `fn(fd)` on the socket's descriptor; undefined without one, or without libc. */
function withFd<T>(socket: Socket, fn: (fd: number) => T): T | undefined {
  const fd = socketFd(socket);
  if (fd === undefined || unavailable) return undefined;
  try {
    return fn(fd);
  } catch {
    unavailable = true;
    return undefined;
  }
}

const value = Buffer.alloc(4);

/** Sets the socket's receive low-water mark (bytes ≥ 1); false when it could not be set. */
export function setReceiveLowWater(socket: Socket, bytes: number): boolean {
  value.writeInt32LE(Math.max(1, Math.min(bytes, 0x7fffffff)), 0);
  return withFd(socket, (fd) => setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, value) === 0) ?? false;
}

/** The socket's receive low-water mark as the kernel holds it; undefined where it cannot be read. */
export function receiveLowWater(socket: Socket): number | undefined {
  return withFd(socket, (fd) => {
    const out = Buffer.alloc(4);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(4, 0);
    return getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, out, length) === 0 ? out.readInt32LE(0) : undefined;
  });
}
