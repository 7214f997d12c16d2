/**
 * Writes the interposer rule file atomically (a fresh temp file, fsync, rename, fsync of the directory)
 * so a process reading it mid-update sees the old file or the new one, never half of one. The agent
 * runs as root: the directory must be its own (no symlink, not writable by others) and the temp file
 * is created O_EXCL|O_NOFOLLOW under a new random name, so nothing planted is followed or truncated;
 * rename replaces a planted symlink at the target rather than writing through it. Writes
 * are serialised; the generation continues from the file already there, so an agent restart never
 * writes a generation the interposers have seen and would skip.
 *
 * Each write stamps the entries with a lease (`ctx.now + leaseMs` at the latest): the caller rewrites
 * the file by `renewAt` while it lives, so a killed agent's faults end within one lease.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BrixletError } from '../../common/errors.js';
import { dirProblem } from '../../common/safe-fs.js';
import type { FaultRule } from './rule.js';
import { type CompiledRuleFile, compileRuleFile, type RuleFileContext } from './rule-file.js';

/** How long the entries of one write stay in force unless the file is written again. */
export const DEFAULT_RULE_FILE_LEASE_MS = 60_000;

export interface WrittenRuleFile extends CompiledRuleFile {
  /** When to write again to renew the lease (a third of it in: two renewals may fail before it lapses); absent for an empty file. */
  readonly renewAt?: number;
}

/** The contract's limit: the interposer reads at most this much. */
export const MAX_RULE_FILE_BYTES = 1024 * 1024;

const TMP_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

export class RuleFileWriter {
  private generation: number | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    readonly leaseMs: number = DEFAULT_RULE_FILE_LEASE_MS,
  ) {}

  /** Compiles `rules` with the next generation and writes them; resolves once they are on disk. */
  write(rules: readonly FaultRule[], ctx: Omit<RuleFileContext, 'generation' | 'leaseUntil'>): Promise<WrittenRuleFile> {
    const run = async (): Promise<WrittenRuleFile> => {
      this.generation ??= await existingGeneration(this.path);
      const compiled = compileRuleFile(rules, { ...ctx, generation: this.generation + 1, leaseUntil: ctx.now + this.leaseMs });
      await writeFileAtomic(this.path, `${JSON.stringify(compiled.file, null, 1)}\n`);
      this.generation = compiled.file.generation;
      const { nvml, dcmi } = compiled.file;
      const empty = nvml.returns.length + nvml.xids.length + dcmi.returns.length === 0;
      return empty ? compiled : { ...compiled, renewAt: ctx.now + Math.max(1, Math.floor(this.leaseMs / 3)) };
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

async function existingGeneration(path: string): Promise<number> {
  try {
    // Never through a symlink, never blocking on a FIFO: only a regular file is read.
    const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    let text: string;
    try {
      if (!(await fh.stat()).isFile()) return 0;
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
    const g = (JSON.parse(text) as { generation?: unknown }).generation;
    return typeof g === 'number' && Number.isSafeInteger(g) && g >= 0 ? g : 0;
  } catch {
    return 0;
  }
}

/** tmp + fsync + rename (+ directory fsync, best effort): the file is the old one or the new one. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  const fail = (reason: string, cause?: unknown) => new BrixletError('BRX_ERR_FAULT_RULE_FILE', { path, reason }, { cause });
  if (bytes.length > MAX_RULE_FILE_BYTES) throw fail(`${bytes.length} bytes is over the ${MAX_RULE_FILE_BYTES}-byte limit`);
  const dir = dirname(path);
  let problem: string | undefined;
  try {
    problem = dirProblem(dir);
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  if (problem !== undefined) throw new BrixletError('BRX_ERR_FAULT_UNSAFE_PATH', { path: dir, problem });
  let tmp = '';
  try {
    let fh: FileHandle | undefined;
    // A name someone else made first (EEXIST) is never reused: the next try takes a new one.
    for (let attempt = 0; fh === undefined; attempt++) {
      tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        // Mode as before (0644 less the umask): LD_PRELOADed processes of other users read the file.
        fh = await open(tmp, TMP_FLAGS, 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) {
          tmp = '';
          throw err;
        }
      }
    }
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // Only a temp file this call created (O_EXCL) is removed.
    if (tmp !== '') await rm(tmp, { force: true }).catch(() => undefined);
    throw fail((err as Error).message, err);
  }
  // The rename is durable once the directory entry is: some file systems need the directory synced.
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Not every platform lets a directory be opened for sync; the rename itself already happened.
  }
}
