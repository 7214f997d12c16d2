// podman for the image test: the project's containers.conf (runc and ulimits that work on the test
// VMs, see scripts/image/containers.conf), a runner that keeps the event loop free during a
// minutes-long build, the local base images, and why none of it can run here when it cannot.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { repoRoot } from './repo.js';

export const PODMAN = process.env.BRIXLET_PODMAN ?? 'podman';
/** Absolute: buildah's copier subprocess runs in another directory and reads it again. */
export const CONTAINERS_CONF = `${repoRoot}scripts/image/containers.conf`;
const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF };

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Attached {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** Starts `cmd args` with the podman environment, output collected as it comes. */
function start(cmd: string, args: readonly string[]): Attached {
  const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const a: Attached = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => {
      child.on('error', (err) => {
        a.stderr += `${cmd}: ${err.message}\n`;
        resolve(null);
      });
      child.on('close', (code) => resolve(code));
    }),
  };
  child.stdout?.on('data', (d: Buffer) => (a.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (a.stderr += d.toString()));
  return a;
}

/** `podman args` kept running (e.g. an attached `podman run`); exited resolves to its exit code. */
export function podmanAttached(args: readonly string[]): Attached {
  return start(PODMAN, args);
}

/** `cmd args` to completion. */
async function ran(cmd: string, args: readonly string[]): Promise<Ran> {
  const a = start(cmd, args);
  const code = await a.exited;
  return { code, stdout: a.stdout, stderr: a.stderr };
}

/** `podman args` to completion. */
export function podman(args: readonly string[]): Promise<Ran> {
  return ran(PODMAN, args);
}

/** Like podman(), but a non-zero exit throws with the command and its stderr. */
export async function podmanOk(args: readonly string[]): Promise<string> {
  const r = await podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Why podman is unusable here (absent, or `podman info` fails), or undefined. Synchronous: for describe names. */
export function podmanMissing(): string | undefined {
  const r = spawnSync(PODMAN, ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) return `${PODMAN} not found (apt-get install podman runc)`;
  if (r.status !== 0) return `${PODMAN} info fails: ${firstLine(r.stderr)}`;
  return undefined;
}

export interface TestBases {
  /** --build-arg BASE_IMAGE: the runtime base. */
  readonly baseImage: string;
  /** --build-arg BUILD_IMAGE: the build base (gcc, make, npm). */
  readonly buildImage: string;
}

/**
 * The local bases from scripts/image/build-test-base.sh (reused when they exist). A string is the
 * reason this machine cannot make them (the script's exit 3); other failures throw.
 */
export async function testBases(): Promise<TestBases | string> {
  const r = await ran('bash', [`${repoRoot}scripts/image/build-test-base.sh`]);
  if (r.code === 3) return firstLine(r.stderr.split('\n').filter((l) => l.includes('cannot build')).join('\n') || r.stderr);
  if (r.code !== 0) throw new Error(`scripts/image/build-test-base.sh exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  const value = (key: string) => new RegExp(`^${key}=(\\S+)$`, 'm').exec(r.stdout)?.[1];
  const baseImage = value('BASE_IMAGE');
  const buildImage = value('BUILD_IMAGE');
  if (baseImage === undefined || buildImage === undefined) throw new Error(`build-test-base.sh printed no image names:\n${r.stdout}`);
  return { baseImage, buildImage };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
