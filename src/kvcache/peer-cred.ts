/**
 * Who is on the other end of an accepted unix socket: SO_PEERCRED (pid, uid, gid as the kernel
 * recorded them at connect; they cannot be forged by the peer) plus the peer's supplementary
 * groups. Read once per connection at accept, never on the data path.
 *
 * The groups come from SO_PEERGROUPS (Linux 4.13+: recorded at connect like the rest, and
 * independent of pid namespaces). Only where the kernel lacks it are they read from
 * /proc/<pid>/status, and then only when that file's real uid matches the peer's (a pid reused by
 * another process never lends its groups). The pid is translated into the agent's pid namespace: a
 * peer in a pid namespace the agent cannot see (another pod, the agent without hostPID) reads as
 * pid 0, and on such an old kernel only its uid and primary gid count.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import koffi from 'koffi';
import { SOL_SOCKET, getsockopt, socketFd } from './sockopt.js';

export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups; empty when /proc/<pid>/status was not readable or named another uid. */
  readonly groups: readonly number[];
}

const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
const ERANGE = 34;
/** NGROUPS_MAX on Linux: the most supplementary groups a process can have. */
const MAX_GROUPS = 65_536;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; } */
const UCRED_BYTES = 12;

/** The `Groups:` of a /proc/<pid>/status text when its real uid is `uid`; [] otherwise. Pure. */
export function parseStatusGroups(text: string, uid: number): number[] {
  const uidLine = /^Uid:\s+(\d+)/m.exec(text);
  if (uidLine === null || Number(uidLine[1]) !== uid) return [];
  const groups = /^Groups:[ \t]*([0-9 \t]*)$/m.exec(text);
  if (groups === null) return [];
  return (groups[1] ?? '').split(/\s+/).filter((g) => g !== '').map(Number).filter(Number.isSafeInteger);
}

/** Supplementary groups of `pid` (0 = not visible from here: none). */
export function supplementaryGroups(pid: number, uid: number, procRoot = '/proc'): number[] {
  if (pid <= 0) return [];
  try {
    return parseStatusGroups(readFileSync(`${procRoot}/${pid}/status`, 'utf8'), uid);
  } catch {
    return [];
  }
}

/** SO_PEERGROUPS of `fd`; undefined when the kernel does not have it. */
function peerGroups(fd: number): number[] | undefined {
  for (let room = 64; room <= MAX_GROUPS; room *= 16) {
    const value = Buffer.alloc(room * 4);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(value.length, 0);
    const rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, value, length);
    if (rc === 0) {
      const n = Math.min(length.readUInt32LE(0), value.length) >>> 2;
      return Array.from({ length: n }, (_, i) => value.readUInt32LE(i * 4));
    }
    if (koffi.errno() !== ERANGE) return undefined;
  }
  return undefined;
}

/** SO_PEERCRED of an accepted unix socket; undefined when it cannot be read (no fd, not Linux). */
export function readPeerCred(socket: Socket): PeerCred | undefined {
  const fd = socketFd(socket);
  if (fd === undefined) return undefined;
  const value = Buffer.alloc(UCRED_BYTES);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(UCRED_BYTES, 0);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, length) !== 0 || length.readUInt32LE(0) < UCRED_BYTES) return undefined;
  const pid = value.readInt32LE(0);
  const uid = value.readUInt32LE(4);
  const gid = value.readUInt32LE(8);
  return { pid, uid, gid, groups: peerGroups(fd) ?? supplementaryGroups(pid, uid) };
}
