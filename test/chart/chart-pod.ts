// Running the chart's pods here as processes: the pinned helm renders the chart, and a pod runner
// starts the rendered init containers and containers with exactly their args and env (pod paths
// mapped to scratch directories, $(VAR) expanded from the container's env and fieldRefs filled in as
// the kubelet would). Shared by chart-run.test.ts and chart-kube.test.ts.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { helmTemplate, pinnedHelm } from '../helpers/helm.js';

export const run = promisify(execFile);
export const root = resolve(import.meta.dirname, '../..');
export const cliMain = join(root, 'dist', 'cli', 'main.js');

/** The pinned helm, or why the chart-running tests skip (no helm, or no built CLI). */
const pinned = await pinnedHelm();
export const helm = pinned.helm;
export const why = helm === undefined ? pinned.helmMissing : existsSync(cliMain) ? '' : `${cliMain} is missing (npm run build)`;

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
export interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
}
export interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  initContainers?: Container[];
}
export interface Obj {
  kind: string;
  apiVersion?: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: { template: { spec: PodSpec } };
}

/** `helm template r chart -n <ns>` with extra arguments (--set, -f); the rendered objects. */
export async function renderChart(namespace: string, args: readonly string[], home: string): Promise<Obj[]> {
  if (helm === undefined) throw new Error(`no helm: ${why}`);
  return helmTemplate<Obj>(helm, ['r', join(root, 'chart'), '-n', namespace, '--kube-version', '1.30.0', ...args], { ...process.env, HOME: home });
}

/** The pod template of a rendered Deployment or DaemonSet. */
export function podOf(objects: readonly Obj[], kind: string, name: string): PodSpec {
  const spec = objects.find((o) => o.kind === kind && o.metadata.name === name)?.spec?.template.spec;
  if (spec === undefined) throw new Error(`no ${kind} ${name}`);
  return spec;
}

export interface PodRunnerOptions {
  readonly objects: readonly Obj[];
  /** spec.nodeName and status.podIP as the kubelet fills them. */
  readonly node: string;
  readonly podIP?: string;
  /** Pod paths (or names) → local ones, replaced in args and commands. */
  readonly paths: readonly (readonly [string, string])[];
  /** HOME of started containers. */
  readonly home: string;
  /** Started processes are pushed here (the test kills leftovers). */
  readonly children: ChildProcess[];
}

export interface Started {
  readonly proc: ChildProcess;
  log(): string;
}

export interface PodRunner {
  envOf(c: Container): Record<string, string>;
  argv(c: Container, env: Record<string, string>): string[];
  /** Runs an init container to completion (rejects on a non-zero exit). */
  runInit(c: Container): Promise<void>;
  /** Starts a container; `extraEnv` is what the test adds beyond the pod (e.g. KUBECONFIG). */
  start(c: Container, extraEnv?: Record<string, string>): Started;
}

export function podRunner(o: PodRunnerOptions): PodRunner {
  const secret = (name: string, key: string) => Buffer.from(o.objects.find((x) => x.kind === 'Secret' && x.metadata.name === name)?.data?.[key] ?? '', 'base64').toString();
  const mapPath = (s: string) => o.paths.reduce((acc, [from, to]) => acc.replaceAll(from, to), s);
  const envOf = (c: Container): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const ref = e.valueFrom;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (ref?.secretKeyRef) env[e.name] = secret(ref.secretKeyRef.name, ref.secretKeyRef.key);
      else if (ref?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = o.node;
      else if (ref?.fieldRef?.fieldPath === 'status.podIP') env[e.name] = o.podIP ?? '127.0.0.1';
      else throw new Error(`${c.name}: env ${e.name} has a source this test does not fill`);
    }
    return env;
  };
  // The kubelet expands $(VAR) in command and args from the container's env.
  const argv = (c: Container, env: Record<string, string>): string[] => {
    const expand = (s: string) => mapPath(s.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m));
    if (c.command !== undefined) {
      expect(c.command[0], `${c.name}: init commands use the image's node`).toBe('node');
      return [...c.command.slice(1), ...(c.args ?? [])].map(expand);
    }
    return [cliMain, ...(c.args ?? []).map(expand)];
  };
  return {
    envOf,
    argv,
    async runInit(c) {
      const env = envOf(c);
      await run(process.execPath, argv(c, env), { env: { PATH: process.env.PATH, ...env } });
    },
    start(c, extraEnv = {}) {
      const env = envOf(c);
      let log = '';
      const proc = spawn(process.execPath, argv(c, env), { env: { PATH: process.env.PATH, HOME: o.home, ...extraEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.on('data', (b: Buffer) => (log += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
      o.children.push(proc);
      return { proc, log: () => log };
    },
  };
}

/** Resolves with the exit code once the process has exited. */
export const exited = (p: ChildProcess): Promise<number | null> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once('exit', (code) => r(code))));

/** Kills what is still running (afterAll). */
export function killAll(children: readonly ChildProcess[]): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Ports the locally run pods listen on (free ones, picked per run). */
export interface LocalPorts {
  readonly agentPort: number;
  readonly controlPort: number;
  readonly gatewayPort: number;
}

/**
 * `--set` values that make the chart's pods runnable as local processes: host paths under `runDir`
 * and `kvDir`, a 16 MiB KV shard, no peer listener, the given ports, a 1 s heartbeat.
 */
export function localPodValues(runDir: string, kvDir: string, p: LocalPorts): string[] {
  return [
    `agent.runDir=${runDir}`,
    `agent.kv.dir=${kvDir}`,
    'agent.kv.capacityMiB=16',
    'agent.kv.slabSizeMiB=16',
    'agent.kv.peerPort=0',
    `agent.port=${p.agentPort}`,
    `coordinator.control.port=${p.controlPort}`,
    `coordinator.gateway.port=${p.gatewayPort}`,
    'agent.heartbeat=1s',
  ];
}
