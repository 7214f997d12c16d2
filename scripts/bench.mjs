#!/usr/bin/env node
// `npm run bench:<name> [-- --quick]`: compile bench/ (and the src/ it imports) with tsc, then run
// bench/<name>.ts from dist-bench/. No TypeScript loader needed at run time.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
if (!name || !existsSync(`bench/${name}.ts`)) {
  console.error(`usage: npm run bench:<name> [-- --quick]; no bench/${name ?? '<name>'}.ts`);
  process.exit(2);
}
// The benchmarks spawn the built CLI and load native/build, so build everything first.
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.json'], { stdio: 'inherit' });
const r = spawnSync(process.execPath, ['--expose-gc', `dist-bench/bench/${name}.js`, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
