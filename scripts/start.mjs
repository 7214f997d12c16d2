#!/usr/bin/env node
// `npm start [-- flags]`: runs `brixlet up` and makes it behave under npm as it does when run directly.
// npm hands SIGINT/SIGTERM on to the script it runs, and a terminal's Ctrl-C reaches every process in
// the foreground group too, so `brixlet up` run in that group would see one Ctrl-C twice and take it
// for the "second Ctrl-C" (exit 130). Here brixlet runs in its own process group, this script passes
// each signal on once (a copy that arrives within DUPLICATE_MS is the same keypress), and exits with
// brixlet's code. brixlet is bound to this script by an IPC channel: if the script dies without
// passing a signal on (SIGKILL), the channel closes and brixlet drains instead of holding its ports.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

// npm forwards a signal it gets later than the terminal delivers it here, late on a loaded machine:
// copies within this window are one keypress (BRIXLET_START_DUPLICATE_MS overrides it).
const DUPLICATE_MS = Number(process.env.BRIXLET_START_DUPLICATE_MS) || 2000;
const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const child = spawn(process.execPath, ['--max-semi-space-size=2', main, 'up', ...process.argv.slice(2)], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  detached: true,
});

const lastSent = new Map();
const forward = (received) => {
  // brixlet drains on SIGTERM; a closed terminal (SIGHUP) means the same.
  const signal = received === 'SIGHUP' ? 'SIGTERM' : received;
  const now = Date.now();
  if (now - (lastSent.get(signal) ?? -Infinity) < DUPLICATE_MS) return;
  lastSent.set(signal, now);
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);

child.on('error', (err) => {
  process.stderr.write(`npm start: cannot run ${main}: ${err.message} (run npm run build first)\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
