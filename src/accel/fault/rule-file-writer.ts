/**
 * Writes the interposer rule file atomically (`<path>.tmp`, fsync, rename, fsync of the directory)
 * so a process reading it mid-update sees the old file or the new one, never half of one. Writes
 * are serialised; the generation continues from the file already there, so an agent restart never
 * writes a generation the interposers have seen and would skip.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BrixletError } from '../../common/errors.js';
import type { FaultRule } from './rule.js';
import { type CompiledRuleFile, compileRuleFile, type RuleFileContext } from './rule-file.js';

/** The contract's limit: the interposer reads at most this much. */
export const MAX_RULE_FILE_BYTES = 1024 * 1024;

export class RuleFileWriter {
  private generation: number | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Compiles `rules` with the next generation and writes them; resolves once they are on disk. */
  write(rules: readonly FaultRule[], ctx: Omit<RuleFileContext, 'generation'>): Promise<CompiledRuleFile> {
    const run = async (): Promise<CompiledRuleFile> => {
      this.generation ??= await existingGeneration(this.path);
      const compiled = compileRuleFile(rules, { ...ctx, generation: this.generation + 1 });
      await writeFileAtomic(this.path, `${JSON.stringify(compiled.file, null, 1)}\n`);
      this.generation = compiled.file.generation;
      return compiled;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

async function existingGeneration(path: string): Promise<number> {
  try {
    const g = (JSON.parse(await readFile(path, 'utf8')) as { generation?: unknown }).generation;
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
  const tmp = `${path}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fail((err as Error).message, err);
  }
  // The rename is durable once the directory entry is: some file systems need the directory synced.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Not every platform lets a directory be opened for sync; the rename itself already happened.
  }
}
