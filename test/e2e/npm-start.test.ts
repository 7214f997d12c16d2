// `npm start` as a user runs it: npm → scripts/start.mjs → `brixlet up`. Signals sent to npm (or to
// the whole foreground group, as Ctrl-C does) end in one clean drain, exit 0, and free the ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/repo.js';

const ARGS = ['--gateway.port', '0', '--control.port', '0', '--agent.port', '0', '--no-kv.enabled', '--json'];

function launch(cmd: string, args: string[]) {
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    // npm's forwarded copy of a signal may come seconds late on a loaded machine: a wide window keeps
    // this about behaviour, not timing.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', CI: 'true', BRIXLET_START_DUPLICATE_MS: '30000' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the test can send a group-wide Ctrl-C
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

async function urls(p: { child: ChildProcess; out: { stdout: string; stderr: string } }): Promise<Record<string, string>> {
  for (let i = 0; i < 1000 && !p.out.stdout.includes('\n'); i++) {
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.out.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const line = p.out.stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no URL line: ${p.out.stdout} ${p.out.stderr}`);
  return JSON.parse(line) as Record<string, string>;
}

async function refused(url: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/healthz`);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('npm start', () => {
  it('drains and exits 0 when npm gets SIGTERM, leaving nothing on the ports', async () => {
    const p = launch('npm', ['start', '--silent', '--', ...ARGS]);
    const u = await urls(p);
    expect((await fetch(`${u.gateway}/healthz`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.out.stderr.match(/"msg":"draining"/g)).toHaveLength(1);
    for (const url of Object.values(u)) expect(await refused(url)).toBe(true);
  }, 60_000);

  it('takes a Ctrl-C that reaches npm and the script at once as one stop request (exit 0, not 130)', async () => {
    const p = launch('npm', ['start', '--silent', '--', ...ARGS]);
    const u = await urls(p);
    process.kill(-(p.child.pid ?? 0), 'SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.out.stderr).toContain('"signal":"SIGINT"');
    expect(p.out.stderr).toContain('"msg":"shutdown complete"');
    expect(await refused(u.agent ?? '')).toBe(true);
  }, 60_000);

  it('stops brixlet when the start script itself is killed outright', async () => {
    const p = launch(process.execPath, ['scripts/start.mjs', ...ARGS]);
    const u = await urls(p);
    p.child.kill('SIGKILL');
    for (const url of Object.values(u)) expect(await refused(url)).toBe(true);
  }, 60_000);
});
