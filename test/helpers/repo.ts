// Paths shared by tests: the repository root and the README.
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const readmePath = `${repoRoot}README.md`;
