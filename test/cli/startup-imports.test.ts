// Every brixlet process starts from src/cli/main.ts. Heavy libraries that only some commands need
// must be imported lazily (await import) inside those commands, or every agent pays for them: the
// Kubernetes client alone adds ~80 MiB of RSS, which would break the agent's 100 MB budget.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\s)[^'"`;]*?from\s*['"]([^'"]+)['"]/gm;

/** Packages reachable from `entry` through static, non-type imports, with one importing file each. */
function staticPackages(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const s = spec as string;
      if (s.startsWith('.')) stack.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      else if (!s.startsWith('node:')) packages.set(s, file.slice(repoRoot.length));
    }
  }
  return packages;
}

it('keeps the Kubernetes client out of the start-up import graph', () => {
  const packages = staticPackages(`${repoRoot}src/cli/main.ts`);
  expect(packages.get('fastify')).toBeDefined(); // the walk does reach the app code
  expect(packages.get('@kubernetes/client-node'), 'statically imported by').toBeUndefined();
});
