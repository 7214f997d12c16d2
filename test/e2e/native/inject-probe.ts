// Shared by the interposer tests: builds the probe programs in fixtures/, runs them in separate
// processes with LD_PRELOAD=native/build/libbrixlet-inject.so, and writes the rule file the way the
// agent does (temp file + rename, so every version is a new inode).
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../helpers/repo.js';
import { nativeBuild, scenarioDir } from './mock-lib.js';

export const injectLib = join(nativeBuild, 'libbrixlet-inject.so');
export const mockNvml = join(nativeBuild, 'libnvidia-ml.so.1');
export const mockDcmi = join(nativeBuild, 'libdcmi.so');
export const fixtures = join(repoRoot, 'test/e2e/native/fixtures');
export const H100 = join(scenarioDir, 'healthy-8x-h100.json');
export const ASCEND = join(scenarioDir, 'healthy-8x-ascend910b.json');

/** '' when the interposer, its proxies, the mocks and `tool` are there; otherwise the skip reason for the title. */
export function injectMissing(tool: 'cc' | 'python3'): string {
  for (const f of [injectLib, mockNvml, mockDcmi, join(nativeBuild, 'libbrixlet-inject-nvml.so'), join(nativeBuild, 'libbrixlet-inject-dcmi.so')]) {
    if (!existsSync(f)) return ` — SKIPPED: ${f} is missing (run \`make -C native\`)`;
  }
  if (spawnSync(tool, ['--version']).status !== 0) return ` — SKIPPED: ${tool} is not available`;
  return '';
}

export const workDir = mkdtempSync(join(tmpdir(), 'brixlet-inject-'));

/** Writes rules (an object, or raw text) to path atomically, as the agent does. */
export function writeRules(path: string, rules: unknown): void {
  writeFileSync(`${path}.tmp`, typeof rules === 'string' ? rules : JSON.stringify(rules));
  renameSync(`${path}.tmp`, path);
}

export type ProbeKind = 'dlopen' | 'linked' | 'runpath';

const built = new Map<ProbeKind, string>();
/**
 * Compiles fixtures/inject-nvml-probe.c once per kind: `linked` links the mock NVML by soname (a
 * program built against the driver), `runpath` carries DT_RUNPATH $ORIGIN/sub with a library there.
 */
export function buildProbe(kind: ProbeKind): string {
  const cached = built.get(kind);
  if (cached !== undefined) return cached;
  const dir = join(workDir, kind);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'probe');
  const args = ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Werror', '-pthread', `-I${join(repoRoot, 'native/include')}`, '-o', out, join(fixtures, 'inject-nvml-probe.c')];
  if (kind === 'linked') args.push('-DLINKED', `-L${nativeBuild}`, '-l:libnvidia-ml.so.1');
  if (kind === 'runpath') {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'runpath-probe.c'), 'int brixlet_runpath_probe(void) { return 7; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'sub/libbrixlet-runpath-probe.so'), join(dir, 'runpath-probe.c')]);
    args.push('-Wl,-rpath,$ORIGIN/sub');
  }
  execFileSync('cc', [...args, '-ldl']);
  built.set(kind, out);
  return out;
}

/** The environment of an interposed NVML/DCMI consumer; `rules` is the rule file path. */
export function injectEnv(rules: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LD_PRELOAD: injectLib,
    BRIXLET_INJECT_RULES: rules,
    BRIXLET_INJECT_REAL_NVML: mockNvml,
    BRIXLET_INJECT_REAL_DCMI: mockDcmi,
    BRIXLET_MOCK_SCENARIO: H100,
    ...extra,
  };
}

/** A running probe: send() writes one command and resolves with the line it answers. */
export class Probe {
  readonly stderr: string[] = [];
  private readonly lines: string[] = [];
  private waiter: ((line: string) => void) | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(program: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(program, args, { env });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      const w = this.waiter;
      this.waiter = undefined;
      if (w !== undefined) w(l);
      else this.lines.push(l);
    });
    createInterface({ input: this.child.stderr }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }

  /** The next stdout line (fails after 10 s rather than hanging the suite). */
  next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe silent; stderr: ${this.stderr.join(' | ')}`)), 10_000);
      this.waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  send(command: string): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    return this.next();
  }

  async quit(): Promise<number | null> {
    this.child.stdin.end('quit\n');
    return this.exited;
  }
}

/** Starts a probe and waits for its "ready" (or its load failure line). */
export async function startProbe(kind: ProbeKind, mode: string, env: NodeJS.ProcessEnv): Promise<{ probe: Probe; first: string }> {
  const probe = new Probe(buildProbe(kind), [mode], env);
  return { probe, first: await probe.next() };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
