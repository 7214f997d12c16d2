// What the package says about itself holds: the license it names is the one it ships, and the
// README's opening and the description name what is built (the optimizer, multi-node orchestration).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmePath, repoRoot } from './helpers/repo.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { license: string; description: string };

describe('package', () => {
  it('ships the Apache-2.0 text that package.json names, and a NOTICE', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(readFileSync(join(repoRoot, 'NOTICE'), 'utf8')).toContain('Copyright 2026 The brixlet Authors');
  });

  it('presents the optimizer and multi-node orchestration in the README opening and the description', () => {
    const opening = readFileSync(readmePath, 'utf8').split('## Quick start')[0] ?? '';
    expect(opening).toMatch(/plans the GPU\s+mix/);
    expect(opening).toMatch(/orchestrates\s+multi-node models[^;]*from a `ModelFleet` resource as KubeRay RayClusters or\s+LeaderWorkerSets/);
    expect(opening).not.toMatch(/\*\*planned\*\*/);
    expect(pkg.description).toContain('GPU optimizer and multi-node orchestration of ModelFleets');
  });
});
