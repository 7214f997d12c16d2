/**
 * One side of bench:kv-e2e: the built `brixlet up --agents 2` (coordinator, gateway, two agents with
 * their KV shards and peer listeners, in one process) in front of the mock engines of
 * e2e-engines.ts (their own process), which the gateway knows as static engines. Pool on: engine i
 * uses agent (i mod 2)'s KV socket; pool off: the engines have their GPU prefix caches only. The
 * agents run in both cases, so the two sides differ in the engines' attachment alone.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { EnginesConfig } from './e2e-engines.js';

export interface StackOptions {
  readonly pool: boolean;
  /** Scratch directory (slabs under <root>/slabs-i, sockets <root>/kv-i.sock). */
  readonly root: string;
  readonly engines: Omit<EnginesConfig, 'kvSockets'>;
  readonly agents: number;
  /** Each agent's KV capacity, e.g. 1GiB. */
  readonly capacity: string;
  readonly peerPort: number;
  readonly policy: string;
}

export interface EngineReport {
  readonly name: string;
  readonly model: { promptTokensTotal: number; cachedPromptTokensTotal: number; preemptionsTotal: number; finishedTotal: number };
  readonly kv?: { lookups: number; hitBlocks: number; loadSeconds: number; offloadBlocks: number; corruptBlocks: number; fallbacks: Record<string, number> };
}

export interface StackReport {
  readonly engines: readonly EngineReport[];
  readonly engineCpuSeconds: number;
  /** brixlet_kvcache_remote_* and _peer_* samples of each agent's /metrics. */
  readonly agentMetrics: readonly Record<string, number>[];
}

export interface Stack {
  readonly gateway: string;
  readonly kvSockets: readonly string[];
  stop(): Promise<StackReport>;
}

const CLI = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
const ENGINES = new URL('./e2e-engines.js', import.meta.url).pathname;

/** Lines of a child's stdout, one promise per line in order. */
function lines(child: ChildProcessWithoutNullStreams, what: string): () => Promise<string> {
  let out = '';
  let err = '';
  const got: string[] = [];
  const waiters: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      const w = waiters.shift();
      const l = out.slice(0, i);
      out = out.slice(i + 1);
      if (w === undefined) got.push(l);
      else w.resolve(l);
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${what} exited ${code}: ${err}`));
  });
  return () => {
    const l = got.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (child.exitCode !== null) return Promise.reject(new Error(`${what} exited ${child.exitCode}: ${err}`));
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  };
}

const METRIC = /^(brixlet_kvcache_(?:remote|peer|directory|publish)[a-z_]*)(\{[^}]*\})? ([0-9.e+-]+)$/;

async function agentMetrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const m = METRIC.exec(l);
    if (m !== null) out[`${m[1] as string}${m[2] ?? ''}`] = Number(m[3]);
  }
  return out;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const sockets = Array.from({ length: o.agents }, (_, i) => join(o.root, `kv-${i}.sock`));
  const engines = spawn(process.execPath, [ENGINES, JSON.stringify({ ...o.engines, kvSockets: o.pool ? sockets : [] } satisfies EnginesConfig)], { stdio: 'pipe' });
  const engineLine = lines(engines, 'the mock engines');
  const { urls } = JSON.parse(await engineLine()) as { urls: string[] };
  const flags = [
    'up', '--agents', String(o.agents), '--json', '--log.level', 'warn',
    '--gateway.engines', urls.join(','), '--gateway.policy', o.policy,
    '--gateway.port', '0', '--control.port', '0', '--agent.port', '0',
    '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1', '--agent.host', '127.0.0.1',
    '--kv.dir', join(o.root, 'slabs'), '--kv.socket', join(o.root, 'kv.sock'),
    '--kv.capacity', o.capacity, '--kv.slab-size', o.capacity, '--kv.peer-port', String(o.peerPort),
  ];
  const up = spawn(process.execPath, [CLI, ...flags], { stdio: 'pipe', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
  // If the benchmark dies, so does its stack (the engines exit when their stdin closes).
  const kill = () => up.kill('SIGTERM');
  process.once('exit', kill);
  const upLine = lines(up, 'brixlet up');
  let started: { gateway: string; agents: { url: string; kvSocket: string }[] };
  try {
    started = JSON.parse(await upLine()) as typeof started;
  } catch (e) {
    engines.stdin.end();
    throw e;
  }
  const kvSockets = started.agents.map((a) => a.kvSocket);
  if (o.pool && kvSockets.join() !== sockets.join()) throw new Error(`agents' sockets ${kvSockets.join()} are not the engines' ${sockets.join()}`);
  return {
    gateway: started.gateway,
    kvSockets,
    async stop() {
      const metrics = await Promise.all(started.agents.map((a) => agentMetrics(a.url)));
      process.off('exit', kill);
      const upExit = new Promise((r) => up.once('exit', r));
      up.kill('SIGTERM');
      await upExit;
      const last = engineLine();
      engines.stdin.end();
      const r = JSON.parse(await last) as { cpuSeconds: number; stats: EngineReport[] };
      return { engines: r.stats, engineCpuSeconds: r.cpuSeconds, agentMetrics: metrics };
    },
  };
}
