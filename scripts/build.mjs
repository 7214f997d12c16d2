#!/usr/bin/env node
// `npm run build`: compile TypeScript to dist/ (src/ → dist/) and, once native/ has a Makefile, the native libraries
// (skipped with one line when make or a compiler is missing: only tests and benchmarks load them).
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { buildNative } from './build-native.mjs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
chmodSync('dist/cli/main.js', 0o755);
process.exitCode = buildNative();
