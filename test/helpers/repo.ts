// Paths shared by tests: the repository root, the README and the docs pages with generated blocks.
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const readmePath = `${repoRoot}README.md`;
/** Holds the generated configuration reference (`<!-- config:begin -->` … `<!-- config:end -->`). */
export const configDocsPath = `${repoRoot}docs/configuration.md`;
/** Holds the generated error table (`<!-- errors:begin -->` … `<!-- errors:end -->`). */
export const errorDocsPath = `${repoRoot}docs/errors.md`;
