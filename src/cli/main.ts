#!/usr/bin/env -S node --max-semi-space-size=2
// The `brixlet` executable: everything lives in runCli so it can be tested in-process.
// A 2 MiB young generation (V8's default grows to 16 MiB) saves the idle DaemonSet agent about 10 MiB
// of RSS (bench:accel); the agent allocates little, so the extra scavenges cost nothing measurable.
import { runCli } from './run-cli.js';

// Started over an IPC channel (scripts/start.mjs under `npm start`): the parent closing it, even by
// SIGKILL, means nobody can pass a signal on any more, so drain as on SIGTERM rather than stay orphaned.
if (process.channel !== undefined) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
// Services have released their resources by now; exit even if a stray handle (a client keep-alive) lingers.
setTimeout(() => process.exit(code), 200).unref();
