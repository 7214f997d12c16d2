/**
 * Reads a bearer token (or a shared secret) from a file, the way sshd reads a private key: the file
 * must be a regular file owned by the reader's uid or root and readable by nobody else (no group or
 * other bits), or the token is refused, not used. Symbolic links are followed — Kubernetes mounts
 * Secret volumes as links into a timestamped directory — but the file they reach is checked.
 */
import { constants, type FileHandle, open } from 'node:fs/promises';
import { BrixletError, type ErrorCode } from './errors.js';
import { agentUid } from './safe-fs.js';

export const TOKEN_MIN_LENGTH = 16;
/** A token file larger than this is not a token file (a mistyped path to a log or a device). */
const MAX_TOKEN_FILE_BYTES = 4096;

export interface TokenFileOptions {
  /** The flag that names the file, quoted in every error. */
  readonly flag: string;
  /** The error code thrown (its message has {path} and {reason}). */
  readonly code: ErrorCode;
}

/** What is wrong with a token file's mode and owner; undefined when only its owner (or root) can read it. */
export function tokenFileProblem(st: { mode: number; uid: number; isFile(): boolean }): string | undefined {
  if (!st.isFile()) return 'it is not a regular file';
  if (st.uid !== agentUid() && st.uid !== 0) return `it is owned by uid ${st.uid}, not this process's uid ${agentUid()} or root`;
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    return `its mode ${mode} lets group or others read or change it (chmod 600 it; in Kubernetes set the Secret volume's defaultMode: 0400)`;
  }
  return undefined;
}

export async function readTokenFile(path: string, opts: TokenFileOptions): Promise<string> {
  const fail = (reason: string, cause?: unknown) => new BrixletError(opts.code, { path: path || '(none)', reason: `${reason} (${opts.flag})` }, cause === undefined ? {} : { cause });
  if (path === '') throw fail('no file given');
  let fh: FileHandle | undefined;
  let text: string;
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the reader; it is refused by the type check.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = await fh.stat();
    const problem = tokenFileProblem(st);
    if (problem !== undefined) throw fail(problem);
    if (st.size > MAX_TOKEN_FILE_BYTES) throw fail(`it has ${st.size} bytes; a token file holds one line`);
    text = (await fh.readFile('utf8')).trim();
  } catch (err) {
    if (err instanceof BrixletError) throw err;
    throw fail((err as Error).message, err);
  } finally {
    await fh?.close().catch(() => {});
  }
  if (text.length < TOKEN_MIN_LENGTH) throw fail(`the token has ${text.length} characters, at least ${TOKEN_MIN_LENGTH} are needed`);
  if (/\s/.test(text)) throw fail('the token contains white space; a bearer token is one word');
  return text;
}
