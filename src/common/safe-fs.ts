/**
 * Checks for the places where the agent, running as root on a node other users share, creates or
 * removes files (KV slab directory, lock, slabs, socket, fault rule file). A path another user can
 * plant beforehand (a symlink, a directory they own, a regular file where a socket should be) must
 * never make the agent write through it or delete it. Only the directory the agent creates files
 * in is checked strictly, not its system parents: /dev/shm and /tmp are root-owned and 1777.
 */
import {
  type BigIntStats,
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { BrixletError, type ErrorCode } from './errors.js';

/** The uid whose files the agent trusts: its own effective uid (root's are trusted too). */
export function agentUid(): number {
  return process.geteuid?.() ?? process.getuid?.() ?? 0;
}

export type OwnedKind = 'file' | 'socket';

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function typeName(st: Stats | BigIntStats): string {
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'regular file';
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'FIFO';
  return 'device or special file';
}

function symlinkProblem(path: string): string {
  let target = '?';
  try {
    target = readlinkSync(path);
  } catch {
    /* gone meanwhile: still refuse */
  }
  return `it is a symbolic link (to ${target}); the agent never follows links where it creates or removes files (remove the link or name the real path)`;
}

function ownerProblem(uid: number): string {
  return `it is owned by uid ${uid}, not the agent's uid ${agentUid()} (or root); another user could have planted it (remove it, or use a path the agent owns)`;
}

/** What is wrong with `dir` as a directory the agent creates files in; undefined when it is safe or absent. */
export function dirProblem(dir: string): string | undefined {
  const st = lstatOrUndefined(dir);
  if (st === undefined) return undefined;
  if (st.isSymbolicLink()) return symlinkProblem(dir);
  // Not a directory: nothing can be created in it, and the mkdir or open that follows says so (ENOTDIR).
  if (!st.isDirectory()) return undefined;
  if (st.uid !== agentUid() && st.uid !== 0) return ownerProblem(st.uid);
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    return `its mode ${mode} lets group or others create and replace files in it (chmod go-w it, or use a directory only the agent can write)`;
  }
  return undefined;
}

export interface SafeDirOptions {
  /**
   * The directory's group: a missing directory gets it, an existing one the agent owns is chgrp'd
   * to it (through an O_NOFOLLOW descriptor, so a link swapped in meanwhile is never followed).
   */
  readonly group?: number;
  /**
   * Refuse an existing directory looser than `mode` (any bit `mode` lacks: e.g. group write or any
   * "other" bit for 0750), instead of only a group/other-writable one. A created one gets `mode`
   * exactly, whatever the umask.
   */
  readonly strict?: boolean;
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * mkdir -p `dir` with `mode` when it is missing, then checks the directory itself (lstat: a symlink,
 * another owner or a group/world-writable mode is refused); throws `code` naming the path and the problem.
 * With `opts` (pool directories), also the mode and group as SafeDirOptions says.
 */
export function ensureSafeDir(dir: string, mode: number, code: ErrorCode, opts: SafeDirOptions = {}): void {
  // Checked before and after: mkdir -p accepts a planted symlink to a directory without an error.
  const before = dirProblem(dir);
  if (before !== undefined) throw new BrixletError(code, { path: dir, problem: before });
  const created = lstatOrUndefined(dir) === undefined;
  mkdirSync(dir, { recursive: true, mode });
  const after = dirProblem(dir) ?? (lstatOrUndefined(dir) === undefined ? 'it vanished right after mkdir' : undefined);
  if (after !== undefined) throw new BrixletError(code, { path: dir, problem: after });
  if (opts.group === undefined && opts.strict !== true) return;
  const problem = settleDir(dir, mode, created, opts);
  if (problem !== undefined) throw new BrixletError(code, { path: dir, problem });
}

/** Mode and group of a checked directory, through a descriptor that cannot be a link. */
function settleDir(dir: string, mode: number, created: boolean, opts: SafeDirOptions): string | undefined {
  let fd: number;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    return `cannot open it without following links: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  try {
    let st = fstatSync(fd);
    if (!st.isDirectory()) return `it is a ${typeName(st)}, not a directory`;
    if (st.uid !== agentUid() && st.uid !== 0) return ownerProblem(st.uid);
    if (created) fchmodSync(fd, mode);
    else if (opts.strict === true && (st.mode & 0o777 & ~mode) !== 0) {
      return `its mode ${modeText(st.mode)} is looser than ${modeText(mode)} (group write or access for others); chmod ${modeText(mode)} it, or remove it and let the agent create it`;
    }
    if (opts.group !== undefined && st.gid !== opts.group) {
      try {
        fchownSync(fd, -1, opts.group);
      } catch (err) {
        return `its group is ${st.gid}, not the pool's group ${opts.group}, and chgrp failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      }
      st = fstatSync(fd);
      if (st.gid !== opts.group) return `its group stayed ${st.gid} after chgrp to ${opts.group}`;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** What is wrong with removing `path` as the agent's own `kind`; undefined when it is, or is absent. */
export function ownedProblem(path: string, kind: OwnedKind): string | undefined {
  const st = lstatOrUndefined(path);
  if (st === undefined) return undefined;
  if (st.isSymbolicLink()) return symlinkProblem(path);
  const isKind = kind === 'file' ? st.isFile() : st.isSocket();
  if (!isKind) return `it is a ${typeName(st)}, not a ${kind === 'file' ? 'regular file' : 'socket'}; the agent removes only what it created (remove it yourself or choose another path)`;
  if (st.uid !== agentUid()) return ownerProblem(st.uid);
  return undefined;
}

/**
 * Unlinks `path` only when lstat shows a `kind` owned by the agent's uid. Returns the problem (and
 * leaves the path alone) otherwise; undefined when removed or already absent.
 */
export function unlinkOwned(path: string, kind: OwnedKind): string | undefined {
  const problem = ownedProblem(path, kind);
  if (problem !== undefined) return problem;
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return undefined;
}
