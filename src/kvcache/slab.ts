/**
 * Slab files: the shard's memory. The agent creates `count` files of `slabSize` bytes in a tmpfs
 * directory, pre-allocates their pages (fallocate: the pages are charged to the agent's cgroup but
 * never touched through a mapping, so the agent's RSS stays small) and maps them MAP_SHARED; engines
 * map the same files and move block bytes themselves (docs/kv-protocol.md §1).
 *
 * One agent per directory: `agent.lock` is held with flock(2) for the set's lifetime and names the
 * owner's pid. The kernel lock, not the pid, decides: it works across pid namespaces (two pods
 * sharing a hostPath) and dies with its process, so a crashed agent's lock is taken over without a
 * pid-reuse false alarm. Opening a set wipes every `slab-*` file left by an earlier agent.
 *
 * The agent runs as root on nodes other users share, and anyone can create /dev/shm/brixlet before
 * it starts: the directory must be a real one the agent (or root) owns and only it can write, the
 * lock and slabs are opened O_NOFOLLOW (slabs O_EXCL too), and only regular files the agent owns are
 * removed (common/safe-fs.ts). The directory is 0750 and the slabs 0660, both with the pool's group:
 * engines reach them through that group (Kubernetes: supplementalGroups), nobody else at all.
 *
 * libc comes through koffi. A koffi view cannot be detached, so a slab whose view escaped stays
 * mapped until the process exits; `close()` unmaps only slabs never viewed (the agent views none).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { BrixletError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { agentUid, ensureSafeDir, unlinkOwned } from '../common/safe-fs.js';

/** The largest koffi view Node 20 can make (buffer.constants.MAX_LENGTH); larger aborts the process. */
export const MAX_SLAB_BYTES = 4 * 1024 ** 3;
export const LOCK_FILE = 'agent.lock';
const SLAB_PREFIX = 'slab-';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 2n ** 64n - 1n;
const LOCK_EX = 2;
const LOCK_NB = 4;
const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR } = fsConstants;

export interface SlabSet {
  readonly dir: string;
  /** 8 lowercase hex digits, random per open: names this agent's files. */
  readonly generation: string;
  readonly slabSize: number;
  /** `${dir}/slab-${generation}-${index padded to 4}`, in index order. */
  readonly paths: readonly string[];
  /** Zero-copy view of slab i (created on first call, cached, valid for the process lifetime). */
  view(index: number): Uint8Array;
  /** Unmaps slabs never viewed, unlinks the slab files and the lock. Idempotent. */
  close(): void;
}

export interface SlabSetOptions {
  readonly dir: string;
  readonly slabSize: number;
  readonly count: number;
  /** fallocate every slab page now, so no engine takes a first-touch fault or SIGBUS on a full tmpfs. */
  readonly prefault: boolean;
  /** Group of the directory and slab files (the pool's); default the agent's effective gid. */
  readonly group?: number;
  readonly log: Logger;
}

interface Libc {
  mmap(addr: null, length: number, prot: number, flags: number, fd: number, offset: number): unknown;
  munmap(addr: bigint, length: number): number;
  posixFallocate(fd: number, offset: number, length: number): number;
  flock(fd: number, operation: number): number;
}

let libcCache: Libc | undefined;

function libc(): Libc {
  if (libcCache !== undefined) return libcCache;
  const lib = koffi.load('libc.so.6');
  const mmap = lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
  const munmap = lib.func('int munmap(void *addr, size_t length)');
  const posixFallocate = lib.func('int posix_fallocate(int fd, int64_t offset, int64_t len)');
  const flock = lib.func('int flock(int fd, int operation)');
  libcCache = {
    mmap: (addr, length, prot, flags, fd, offset) => mmap(addr, length, prot, flags, fd, offset) as unknown,
    munmap: (addr, length) => munmap(addr, length) as number,
    posixFallocate: (fd, offset, length) => posixFallocate(fd, offset, length) as number,
    flock: (fd, operation) => flock(fd, operation) as number,
  };
  return libcCache;
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** `ENOSPC` for 28; the number when the platform has no name for it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** Node fs errors carry `.code`; anything else is described by its message. */
function reasonOf(err: unknown): string {
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') return (err as NodeJS.ErrnoException).code as string;
  return err instanceof Error ? err.message : String(err);
}

/** mmap(MAP_SHARED, read-write) of an open fd; returns the address or throws with the errno name. */
function mapFd(fd: number, size: number): bigint {
  const raw = libc().mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const errno = koffi.errno();
  const addr = typeof raw === 'bigint' ? raw : raw === null ? 0n : koffi.address(raw);
  if (addr === MAP_FAILED || addr === 0n) throw new Error(`mmap: ${errnoName(errno)}`);
  return addr;
}

function viewOf(addr: bigint, size: number): Uint8Array {
  return new Uint8Array(koffi.view(addr, size));
}

function checkSize(code: ErrorCode, path: string, size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_SLAB_BYTES) {
    const reason = `slab size ${size} must be a whole number of bytes between 1 and ${MAX_SLAB_BYTES} (4GiB, one view on Node 20)`;
    throw new BrixletError(code, code === 'BRX_ERR_KV_CONFIG' ? { reason } : { path, reason });
  }
}

export function slabPath(dir: string, generation: string, index: number): string {
  return join(dir, `${SLAB_PREFIX}${generation}-${String(index).padStart(4, '0')}`);
}

class SlabFailure extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function initError(err: unknown, fallbackPath: string): BrixletError {
  if (err instanceof BrixletError) return err;
  if (err instanceof SlabFailure) return new BrixletError('BRX_ERR_KV_INIT', { path: err.path, reason: err.reason }, { cause: err });
  return new BrixletError('BRX_ERR_KV_INIT', { path: fallbackPath, reason: reasonOf(err) }, { cause: err });
}

/** Runs `fn`; a thrown error becomes a SlabFailure naming `path` and what was being done. */
function step<T>(path: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BrixletError || err instanceof SlabFailure) throw err;
    throw new SlabFailure(path, `${what}: ${reasonOf(err)}`);
  }
}

/** open(2) with O_NOFOLLOW; a symlink at `path` (ELOOP) is refused as unsafe, not as a failed open. */
function openNoFollow(path: string, flags: number, mode: number, what: string): number {
  try {
    return openSync(path, flags | O_NOFOLLOW, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new BrixletError('BRX_ERR_KV_UNSAFE_PATH', { path, problem: 'it is a symbolic link; the agent never follows links where it creates files (remove it)' }, { cause: err });
    }
    throw new SlabFailure(path, `${what}: ${reasonOf(err)}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLockPid(fd: number): number | undefined {
  try {
    const pid = Number(readFileSync(fd, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes `${dir}/agent.lock` (flock, then writes our pid); returns its fd, held until close.
 * Where the filesystem has no flock, falls back to "the named pid is alive and not us".
 */
function takeLock(dir: string, log: Logger): number {
  const path = join(dir, LOCK_FILE);
  // No O_TRUNC and no symlink: a planted agent.lock must not make root truncate another file.
  const fd = openNoFollow(path, O_RDWR | O_CREAT, 0o600, 'open lock');
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== agentUid() || st.nlink !== 1) {
      const what = !st.isFile() ? 'it is not a regular file' : st.uid !== agentUid() ? `it is owned by uid ${st.uid}, not the agent's uid ${agentUid()}` : `it has ${st.nlink} hard links (a link to another file)`;
      throw new BrixletError('BRX_ERR_KV_UNSAFE_PATH', { path, problem: `${what}; remove it (the agent makes its own)` });
    }
    const rc = libc().flock(fd, LOCK_EX | LOCK_NB);
    const errno = rc === 0 ? 0 : koffi.errno();
    const holder = readLockPid(fd);
    if (rc !== 0 && (errno === osConstants.errno.EWOULDBLOCK || errno === osConstants.errno.EAGAIN)) {
      throw new BrixletError('BRX_ERR_KV_IN_USE', { path: dir, pid: holder ?? 'unknown' });
    }
    if (rc !== 0) {
      log.warn({ path, errno: errnoName(errno) }, 'KV slab directory does not support flock; relying on the pid in the lock file');
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new BrixletError('BRX_ERR_KV_IN_USE', { path: dir, pid: holder });
      }
    } else if (holder !== undefined && holder !== process.pid) {
      log.info({ path, stalePid: holder }, 'taking over the KV slab lock of an agent that is gone');
    }
    step(path, 'write lock', () => {
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0); // position 0: the read above moved the offset
    });
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Clean wipe: a starting agent owns the directory, so every earlier slab file it owns goes. */
function wipeSlabs(dir: string, log: Logger): void {
  const stale = step(dir, 'list', () => readdirSync(dir)).filter((name) => name.startsWith(SLAB_PREFIX));
  let removed = 0;
  for (const name of stale) {
    const path = join(dir, name);
    const problem = step(path, 'remove stale slab', () => unlinkOwned(path, 'file'));
    if (problem === undefined) removed++;
    else log.warn({ path, problem }, 'left a slab-* entry the agent did not create');
  }
  if (removed > 0) log.info({ dir, files: removed }, 'removed slab files of an earlier agent');
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Creates, sizes, pre-allocates and maps one slab file; the fd is closed before returning. */
function createSlab(path: string, size: number, prefault: boolean, dir: string, group: number): bigint {
  const fd = openNoFollow(path, O_RDWR | O_CREAT | O_EXCL, 0o600, 'create');
  try {
    // Created 0600, then handed to the pool's group before it is sized: engines of that group map it
    // read-write, nobody else can open it. fchmod also undoes a umask that would keep the group out.
    step(path, 'chown', () => fchownSync(fd, -1, group));
    step(path, 'chmod', () => fchmodSync(fd, 0o660));
    step(path, 'ftruncate', () => ftruncateSync(fd, size));
    if (prefault) {
      const rc = libc().posixFallocate(fd, 0, size);
      if (rc === osConstants.errno.ENOSPC) {
        throw new SlabFailure(dir, `ENOSPC: the tmpfs has no room for another ${size} byte slab (check df ${dir}, or lower --kv.capacity)`);
      }
      if (rc !== 0) throw new SlabFailure(path, `fallocate: ${errnoName(rc)}`);
    }
    return step(path, 'map', () => mapFd(fd, size));
  } finally {
    closeSync(fd);
  }
}

export function openSlabSet(opts: SlabSetOptions): SlabSet {
  const { dir, slabSize, count, prefault, log } = opts;
  const group = opts.group ?? process.getegid?.() ?? 0;
  checkSize('BRX_ERR_KV_CONFIG', dir, slabSize);
  if (!Number.isSafeInteger(count) || count < 1 || count > 65_535) {
    throw new BrixletError('BRX_ERR_KV_CONFIG', { reason: `slab count ${count} must be between 1 and 65535` });
  }
  const started = performance.now();
  const generation = randomBytes(4).toString('hex');
  const paths = Array.from({ length: count }, (_, i) => slabPath(dir, generation, i));
  const addrs: bigint[] = [];
  const created: string[] = [];
  let lockFd: number | undefined;
  try {
    // 0750 with the pool's group: its engines list and open the slabs, others cannot even look in.
    step(dir, 'mkdir', () => ensureSafeDir(dir, 0o750, 'BRX_ERR_KV_UNSAFE_PATH', { group, strict: true }));
    lockFd = takeLock(dir, log);
    wipeSlabs(dir, log);
    for (const path of paths) {
      created.push(path);
      addrs.push(createSlab(path, slabSize, prefault, dir, group));
    }
  } catch (err) {
    for (const addr of addrs) libc().munmap(addr, slabSize);
    for (const path of created) {
      try {
        unlinkOwned(path, 'file');
      } catch {
        /* best effort: the next agent's wipe removes it */
      }
    }
    if (lockFd !== undefined) releaseLock(dir, lockFd);
    throw initError(err, dir);
  }
  log.info(
    { dir, generation, slabs: count, slabSize, prefault, ms: Math.round(performance.now() - started) },
    'KV slab files created and mapped',
  );
  return new MappedSlabSet(dir, generation, slabSize, paths, addrs, lockFd, log);
}

function releaseLock(dir: string, fd: number): void {
  try {
    // Only the very file we hold: never a file put at that name since.
    const path = join(dir, LOCK_FILE);
    const held = fstatSync(fd);
    const now = lstatSync(path);
    if (now.isFile() && now.ino === held.ino && now.dev === held.dev) unlinkQuiet(path);
  } catch {
    /* a read-only leftover is harmless: flock, not the file, decides */
  }
  closeSync(fd); // drops the flock
}

class MappedSlabSet implements SlabSet {
  private readonly views: (Uint8Array | undefined)[];
  private closed = false;

  constructor(
    readonly dir: string,
    readonly generation: string,
    readonly slabSize: number,
    readonly paths: readonly string[],
    private readonly addrs: readonly bigint[],
    private readonly lockFd: number,
    private readonly log: Logger,
  ) {
    this.views = new Array<Uint8Array | undefined>(paths.length).fill(undefined);
  }

  view(index: number): Uint8Array {
    if (this.closed) throw new RangeError('slab set is closed');
    if (!Number.isInteger(index) || index < 0 || index >= this.addrs.length) {
      throw new RangeError(`slab index ${index} out of range 0..${this.addrs.length - 1}`);
    }
    let v = this.views[index];
    if (v === undefined) {
      v = viewOf(this.addrs[index] as bigint, this.slabSize);
      this.views[index] = v;
    }
    return v;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    let kept = 0;
    for (let i = 0; i < this.addrs.length; i++) {
      if (this.views[i] === undefined) libc().munmap(this.addrs[i] as bigint, this.slabSize);
      else kept++;
    }
    for (const path of this.paths) {
      try {
        const problem = unlinkOwned(path, 'file');
        if (problem !== undefined) this.log.warn({ path, problem }, 'left a slab path that is no longer the agent\'s file');
      } catch (err) {
        this.log.warn({ path, err }, 'cannot remove a slab file');
      }
    }
    releaseLock(this.dir, this.lockFd);
    if (kept > 0) this.log.debug({ dir: this.dir, kept }, 'viewed slabs stay mapped until the process exits');
  }
}

/**
 * For clients in any process: maps an existing slab file read-write, shared, and returns a
 * zero-copy view. The mapping lives until the process exits (koffi views cannot be detached).
 */
export function mapSlabFile(path: string, size: number): Uint8Array {
  checkSize('BRX_ERR_KV_CONNECT', path, size);
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    throw new BrixletError('BRX_ERR_KV_CONNECT', { path, reason: `open slab: ${reasonOf(err)}` }, { cause: err });
  }
  try {
    // Touching a mapping past the end of the file is SIGBUS, not an exception: check first.
    const actual = fstatSync(fd).size;
    if (actual < size) throw new BrixletError('BRX_ERR_KV_CONNECT', { path, reason: `slab file has ${actual} bytes, expected ${size}` });
    return viewOf(mapFd(fd, size), size);
  } catch (err) {
    if (err instanceof BrixletError) throw err;
    throw new BrixletError('BRX_ERR_KV_CONNECT', { path, reason: reasonOf(err) }, { cause: err });
  } finally {
    closeSync(fd);
  }
}
