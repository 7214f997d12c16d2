/**
 * Redis 7 and memcached 1.6 from Debian for bench:kv-local: installed when missing (root only), started
 * on free loopback ports with persistence off, awaited until they answer, stopped at the end. A peer
 * that cannot be had comes back as `missing` with the reason, never as a stand-in.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';

export interface Peer {
  readonly name: 'redis' | 'memcached';
  readonly port: number;
  readonly version: string;
  /** The server's process id (its CPU time is read from /proc by bench:kv-remote). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export type PeerResult = { readonly ok: true; readonly peer: Peer } | { readonly ok: false; readonly name: string; readonly reason: string };

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** apt-get installs the Debian packages of missing peers (only as root; says why otherwise). */
export function installMissing(packages: Record<string, string>): Record<string, string> {
  const problems: Record<string, string> = {};
  const missing = Object.entries(packages).filter(([cmd]) => !onPath(cmd));
  if (missing.length === 0) return problems;
  if (process.getuid?.() !== 0) {
    for (const [cmd, pkg] of missing) problems[cmd] = `${cmd} not installed and not root (apt-get install ${pkg})`;
    return problems;
  }
  const pkgs = missing.map(([, pkg]) => pkg);
  console.log(`installing ${pkgs.join(', ')} with apt-get …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env });
  for (const [cmd, pkg] of missing) if (!onPath(cmd)) problems[cmd] = `apt-get install ${pkg} failed (exit ${r.status})`;
  return problems;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends `probe` until a reply line arrives (or `timeoutMs` passes); returns the first line. */
async function answer(port: number, probe: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = await new Promise<string | undefined>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let buf = '';
      s.setTimeout(500, () => s.destroy());
      s.on('connect', () => s.write(probe));
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        const i = buf.indexOf('\r\n');
        if (i >= 0) {
          s.destroy();
          resolve(buf.slice(0, i));
        }
      });
      s.on('error', () => resolve(undefined));
      s.on('close', () => resolve(undefined));
    });
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

async function start(name: Peer['name'], cmd: string, argv: (port: number) => string[], probe: string, version: (firstLine: string) => string): Promise<PeerResult> {
  try {
    const port = await freePort();
    const child = spawn(cmd, argv(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${stderr.trim()}`))));
    exited.catch(() => {});
    const line = await Promise.race([answer(port, probe, 10_000), exited]);
    return { ok: true, peer: { name, port, version: version(line), pid: child.pid, stop: stopper(child) } };
  } catch (err) {
    return { ok: false, name, reason: (err as Error).message };
  }
}

export function startRedis(): Promise<PeerResult> {
  const v = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout?.match(/v=(\S+)/)?.[1] ?? '?';
  return start('redis', 'redis-server', (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], '*1\r\n$4\r\nPING\r\n', () => v);
}

export function startMemcached(memoryMb: number): Promise<PeerResult> {
  // -u: memcached refuses to run as root without naming a user.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  return start(
    'memcached',
    'memcached',
    (port) => ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-t', '2', '-m', String(memoryMb), '-I', '4m', ...user],
    'version\r\n',
    (line) => line.replace(/^VERSION /, ''),
  );
}
