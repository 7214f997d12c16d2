// Runs the CLI in-process with captured stdout/stderr.
import { runCli } from '../../src/cli/run-cli.js';
import { Capture } from './capture.js';
import { kvTestEnv } from './kv-env.js';

export interface CliRun {
  readonly code: Promise<number>;
  readonly stdout: Capture;
  readonly stderr: Capture;
}

export function startCli(argv: string[], env: Record<string, string | undefined> = {}, tty = false): CliRun {
  const stdout = new Capture(tty);
  const stderr = new Capture(tty);
  const kv = kvTestEnv(argv[0], env);
  const code = runCli(argv, { stdout, stderr, env: kv.env, signals: ['SIGUSR2'] }).finally(kv.cleanup);
  return { code, stdout, stderr };
}

export async function cli(argv: string[], env: Record<string, string | undefined> = {}, tty = false) {
  const run = startCli(argv, env, tty);
  const code = await run.code;
  return { code, stdout: run.stdout.text, stderr: run.stderr.text };
}
