// e2e tests run the built CLI. Rebuild when dist/ is missing or older than any source file,
// so a developer never tests stale output (CI builds through `npm ci` → prepare anyway).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.js';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const main = join(repoRoot, 'dist/cli/main.js');
  if (!existsSync(main) || statSync(main).mtimeMs < newest(join(repoRoot, 'src'))) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
  }
}
