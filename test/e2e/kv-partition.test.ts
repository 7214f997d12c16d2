// A partition between two agents: agent A (holder: shard + peer listener) and agent B (reader: shard +
// remote read path) run in their own network namespaces joined by a veth pair the test makes; the
// test process is B's engine over B's unix socket. Taking A's end of the link down drops packets
// silently (no reset: the hard case). While partitioned, a LOOKUP_REMOTE for a chain only A holds
// answers within its budget with no remote hits and the expiry counted, and B's local blocks still hit;
// once the link is back, the chain is fetched from A again. Needs root and `ip netns`; skips otherwise.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { blockBytes } from '../kvcache/peer/peer-fixture.js';
import { keys } from '../kvcache/shard-fixture.js';
import { repoRoot } from '../helpers/repo.js';

const BLOCK = 64 * 1024;
const LEN = 60 * 1024;
const CHAIN = 8;
const NS_A = `brx-a-${process.pid}`;
const NS_B = `brx-b-${process.pid}`;
const VETH_A = `brxa${process.pid}`;
const VETH_B = `brxb${process.pid}`;
const ADDR_A = '10.231.0.1';
const ADDR_B = '10.231.0.2';

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
}

/** Why this machine cannot make network namespaces, or undefined when it can. */
function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)';
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error !== undefined || v.status !== 0) return 'no `ip` command (iproute2)';
  const probe = `brx-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `ip netns add not permitted here: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const unavailable = netnsUnavailable();

interface Agent {
  readonly child: ChildProcess;
  readonly socket: string;
  readonly port?: number;
  stderr: string;
}

const children: ChildProcess[] = [];
const roots: string[] = [];

/** Runs netns-agent.mjs in namespace `ns` and waits for its start-up line. */
async function startAgent(ns: string, args: Record<string, string>, key: Buffer): Promise<Agent> {
  const root = mkdtempSync(`/dev/shm/brixlet-partition-${args.self}-`);
  roots.push(root);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, `${repoRoot}test/e2e/netns-agent.mjs`, JSON.stringify({ ...args, root })], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', BRIXLET_TEST_PAIR_KEY: key.toString('hex') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`agent ${args.self} exited ${code}: ${stderr}`)));
  });
  const { socket, port } = JSON.parse(line) as { socket: string; port?: number };
  return { child, socket, ...(port !== undefined ? { port } : {}), stderr };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

/** Puts chain `tag` (CHAIN blocks) into namespace "ns" of the shard at `socketPath`. */
async function putChain(socketPath: string, tag: number): Promise<void> {
  const c = await KvClient.connect({ socketPath, namespace: 'ns', blockSize: BLOCK });
  await c.put(keys(tag, CHAIN), Array.from({ length: CHAIN }, (_, i) => blockBytes(tag, i, LEN)));
  await c.close();
}

describe.skipIf(unavailable !== undefined)(`a partition between two agents (network namespaces and a veth pair)${unavailable !== undefined ? ` — skipped: ${unavailable}` : ''}`, () => {
  let a: Agent;
  let b: Agent;
  let engine: KvClient;

  beforeAll(async () => {
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    ip('link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', VETH_B, 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', `${ADDR_A}/30`, 'dev', VETH_A);
    ip('-n', NS_B, 'addr', 'add', `${ADDR_B}/30`, 'dev', VETH_B);
    for (const [ns, dev] of [[NS_A, VETH_A], [NS_B, VETH_B]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    const key = randomBytes(32);
    a = await startAgent(NS_A, { role: 'holder', self: 'a', peer: 'b', listen: ADDR_A }, key);
    b = await startAgent(NS_B, { role: 'reader', self: 'b', peer: 'a', peerAddress: `${ADDR_A}:${a.port}` }, key);
    // Chains 1 and 2 only A holds; chain 3 only B.
    await putChain(a.socket, 1);
    await putChain(a.socket, 2);
    await putChain(b.socket, 3);
    engine = await KvClient.connect({ socketPath: b.socket, namespace: 'ns', blockSize: BLOCK });
  }, 60_000);

  afterAll(async () => {
    await engine?.close().catch(() => undefined);
    for (const c of children) await stop(c);
    spawnSync('ip', ['netns', 'del', NS_A]);
    spawnSync('ip', ['netns', 'del', NS_B]);
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  }, 60_000);

  /** LOOKUP_REMOTE of chain `tag`; releases its leases; returns hits and remote hits. */
  async function lookup(tag: number, remoteBudgetMs: number): Promise<{ hits: number; remoteHits: number }> {
    // FETCH_ALL: a poll that brought part of the chain fetches the rest next time, however short.
    const r = await engine.lookup(keys(tag, CHAIN), { remoteBudgetMs, fetchAll: true });
    await engine.release(r.leases.map((l) => l.leaseId));
    return { hits: r.hits, remoteHits: r.remoteHits };
  }

  it('remote lookups fail within the budget, the local path is unaffected, and reads from A resume once the link heals', { timeout: 120_000 }, async () => {
    // Connected: B fetches chain 1 from A (the peer connection is up before the partition).
    expect(await lookup(1, 30_000)).toEqual({ hits: CHAIN, remoteHits: CHAIN });
    expect((await engine.stats()).remote?.budgetExpired).toBe(0);

    ip('-n', NS_A, 'link', 'set', VETH_A, 'down');
    // The request goes out on the established connection and nothing comes back: the budget runs out.
    expect(await lookup(2, 200)).toEqual({ hits: 0, remoteHits: 0 });
    expect((await engine.stats()).remote?.budgetExpired).toBe(1);
    // A second try (a new connection, whose handshake gets no answer either) fails the same way.
    expect(await lookup(2, 200)).toEqual({ hits: 0, remoteHits: 0 });
    // B's own chain, and the chain it fetched before the partition, are local hits.
    expect(await lookup(3, 200)).toEqual({ hits: CHAIN, remoteHits: 0 });
    expect(await lookup(1, 200)).toEqual({ hits: CHAIN, remoteHits: 0 });
    const other = await KvClient.connect({ socketPath: b.socket, namespace: 'ns', blockSize: BLOCK });
    expect(await other.exists(keys(3, CHAIN))).toBe(CHAIN);
    await other.close();

    ip('-n', NS_A, 'link', 'set', VETH_A, 'up');
    // TCP (or a new connection) needs a moment once the link is back: poll with a generous deadline.
    await expect.poll(async () => (await lookup(2, 1_000)).hits, { timeout: 60_000, interval: 200 }).toBe(CHAIN);
    const blocks = await engine.get(keys(2, CHAIN));
    expect(blocks.map((x, i) => x.equals(blockBytes(2, i, LEN)))).toEqual(Array(CHAIN).fill(true));
    const stats = await engine.stats();
    expect(stats.remote?.hitBlocks).toBe(2 * CHAIN);
  });
});
