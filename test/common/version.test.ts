import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { brixletVersion } from '../../src/common/version.js';
import { repoRoot } from '../helpers/repo.js';

it('reports the package.json version', () => {
  const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string };
  expect(brixletVersion()).toBe(pkg.version);
  expect(brixletVersion()).toMatch(/^\d+\.\d+\.\d+/);
});
