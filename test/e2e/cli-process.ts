// Spawns the built `brixlet` executable as a user would, with no TTY.
import { type ChildProcess, spawn } from 'node:child_process';
import { kvTestEnv } from '../helpers/kv-env.js';
import { repoRoot } from '../helpers/repo.js';

export const BIN = `${repoRoot}dist/cli/main.js`;

export interface Spawned {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnBrixlet(args: string[], env: Record<string, string> = {}): Spawned {
  const kv = kvTestEnv(args[0], env);
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', CI: 'true', ...kv.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s: Spawned = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        kv.cleanup();
        resolve({ code, signal });
      }),
    ),
  };
  child.stdout?.on('data', (d: Buffer) => (s.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (s.stderr += d.toString()));
  return s;
}

/** Waits for the first stdout line (the --json start-up summary). */
export async function firstLine(s: Spawned, timeoutMs = 15_000): Promise<string> {
  const started = Date.now();
  while (!s.stdout.includes('\n')) {
    if (Date.now() - started > timeoutMs) throw new Error(`no output within ${timeoutMs} ms; stderr: ${s.stderr}`);
    if (s.child.exitCode !== null) throw new Error(`exited ${s.child.exitCode}; stderr: ${s.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return s.stdout.slice(0, s.stdout.indexOf('\n'));
}

export async function run(args: string[], env: Record<string, string> = {}) {
  const s = spawnBrixlet(args, env);
  const { code } = await s.exited;
  return { code, stdout: s.stdout, stderr: s.stderr };
}
