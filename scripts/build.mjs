#!/usr/bin/env node
// `npm run build`: compile TypeScript to dist/ (src/ → dist/, and the mock engine the CLI loads at
// run time, mocks/engine/ → dist/mocks/engine/) and, once native/ has a Makefile, the native libraries.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'mocks/engine/tsconfig.json']);
chmodSync('dist/cli/main.js', 0o755);
if (existsSync('native/Makefile')) run('make', ['-C', 'native', '--no-print-directory']);
