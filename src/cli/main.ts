#!/usr/bin/env node
// The `brixlet` executable: everything lives in runCli so it can be tested in-process.
import { runCli } from './run-cli.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
// Services have released their resources by now; exit even if a stray handle (a client keep-alive) lingers.
setTimeout(() => process.exit(code), 200).unref();
