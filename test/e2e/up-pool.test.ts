// The KV pool across agents as a user sees it: the built `brixlet up --agents 2 --engines 4`. A block put
// through agent A's socket and hit there is read through agent B's (`brixlet kv get --remote-budget`), and
// a prompt an engine on A computed is loaded, not recomputed, by an engine on B: B's /v1/kvcache and
// /metrics count remote hits, A's count the blocks it served. Engines attach to agents round robin:
// engine-0 and engine-2 to A, engine-1 and engine-3 to B.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstLine, run, spawnBrixlet } from './cli-process.js';

const peerBase = 20_000 + Math.floor(Math.random() * 20_000);
const root = mkdtempSync(join(tmpdir(), 'brixlet-e2e-pool-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Agent {
  node: string;
  url: string;
  kvSocket: string;
  peerAddress: string;
}
interface UpLine {
  agents: Agent[];
  'engine-0': string;
  'engine-1': string;
  'engine-2': string;
  'engine-3': string;
}
interface RemoteView {
  reads: number;
  hitBlocks: number;
  hitBytes: number;
  budgetExpired: number;
  servedBlocks: number;
  servedBytes: number;
}

/** Only catches hangs: publishing is asynchronous (25 ms batches), offloads happen after the answer. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The sum of a family's samples matching `labels` in a Prometheus text scrape. */
function sample(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels !== '' && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const scrape = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();
const remoteOf = async (a: Agent): Promise<RemoteView> => ((await (await fetch(`${a.url}/v1/kvcache`)).json()) as { remote: RemoteView }).remote;

async function complete(engine: string, prompt: string): Promise<void> {
  const res = await fetch(`${engine}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock-llama-3-8b', prompt, max_tokens: 4 }),
  });
  expect(res.status).toBe(200);
  await res.json();
}

describe('brixlet up --agents 2 --engines 4: the KV pool (built, spawned)', () => {
  const up = spawnBrixlet([
    'up',
    ...['--agents', '2', '--engines', '4', '--engine-time-scale', 'inf', '--json'],
    ...['--agent.port', '0', '--gateway.port', '0', '--control.port', '0'],
    ...['--agent.host', '127.0.0.1', '--control.host', '127.0.0.1', '--gateway.host', '127.0.0.1'],
    // A generous budget for the engines' remote reads (the default 20 ms is for real deployments): only a hang fails.
    ...['--kv.peer-port', String(peerBase), '--kv.remote-budget', '10s'],
  ]);
  afterAll(async () => {
    up.child.kill('SIGTERM');
    expect((await up.exited).code).toBe(0);
    expect(up.stderr).not.toMatch(/"level":(50|60)/);
  });
  let line: UpLine;

  it('brixlet kv get through agent B returns a hot block put through agent A', { timeout: 90_000 }, async () => {
    line = JSON.parse(await firstLine(up, 60_000)) as UpLine;
    expect(line.agents).toHaveLength(2);
    const [a, b] = line.agents as [Agent, Agent];
    const file = join(root, 'block.bin');
    const bytes = Buffer.from(`a block written through ${a.node}\n`.repeat(100));
    writeFileSync(file, bytes);
    const put = await run(['kv', 'put', '--text', 'pool demo', '--file', file, '--socket', a.kvSocket]);
    expect([put.code, put.stderr]).toEqual([0, '']);
    // A hit on A makes the block hot: A publishes it to the directory.
    const hit = await run(['kv', 'get', '--text', 'pool demo', '--socket', a.kvSocket]);
    expect(hit.stdout).toBe(bytes.toString());
    // Not on B until B fetches it.
    expect((await run(['kv', 'get', '--text', 'pool demo', '--socket', b.kvSocket])).code).toBe(1);
    const got = await until('kv get through B', async () => {
      const r = await run(['kv', 'get', '--text', 'pool demo', '--remote-budget', '200', '--socket', b.kvSocket]);
      return r.code === 0 ? r : undefined;
    });
    expect([got.stdout, got.stderr]).toEqual([bytes.toString(), '']);
    // Fetched once, then local to B.
    expect(await remoteOf(b)).toMatchObject({ hitBlocks: 1, hitBytes: bytes.length });
    expect(await remoteOf(a)).toMatchObject({ servedBlocks: 1, servedBytes: bytes.length });
    expect((await run(['kv', 'get', '--text', 'pool demo', '--socket', b.kvSocket])).stdout).toBe(bytes.toString());
  });

  it('a prompt computed by an engine on agent A is loaded by an engine on agent B from A', { timeout: 90_000 }, async () => {
    const [a, b] = line.agents as [Agent, Agent];
    // About 1000 tokens: ~60 blocks of 16 tokens, far past --kv.remote-min-blocks.
    const prompt = Array.from({ length: 200 }, (_, i) => `table t${i} (id int, name text);`).join(' ').slice(0, 4000);
    const before = { a: await remoteOf(a), b: await remoteOf(b) };

    // engine-0 (on A) computes the prompt and offloads its blocks to A's shard.
    await complete(line['engine-0'], prompt);
    await until('engine-0 offload', async () => {
      const n = sample(await scrape(line['engine-0']), 'brixlet_mock_engine_kv_offload_blocks_total');
      return n >= 4 ? n : undefined;
    });
    const applied = sample(await scrape(a.url), 'brixlet_kvcache_publish_deltas_total', 'state="applied"');
    // engine-2 (also on A, its own GPU cache cold) loads them from A: the hit makes them hot, and A publishes them.
    await complete(line['engine-2'], prompt);
    const hot = sample(await scrape(line['engine-2']), 'brixlet_mock_engine_kv_hit_blocks_total');
    expect(hot).toBeGreaterThanOrEqual(4);
    await until('A to publish the hot blocks', async () => (sample(await scrape(a.url), 'brixlet_kvcache_publish_deltas_total', 'state="applied"') >= applied + hot ? true : undefined));

    // engine-1 (on B) has never seen the prompt, nor has B's shard: its one lookup fetches the chain from A.
    await complete(line['engine-1'], prompt);
    expect(sample(await scrape(line['engine-1']), 'brixlet_mock_engine_kv_hit_blocks_total')).toBeGreaterThanOrEqual(4);
    const bMetrics = await scrape(b.url);
    expect(sample(bMetrics, 'brixlet_kvcache_remote_hit_blocks_total')).toBeGreaterThanOrEqual(before.b.hitBlocks + 4);
    expect(sample(bMetrics, 'brixlet_kvcache_peer_blocks_total', 'direction="received"')).toBeGreaterThanOrEqual(4);
    expect(sample(bMetrics, 'brixlet_kvcache_peer_transfer_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(await scrape(a.url), 'brixlet_kvcache_peer_blocks_total', 'direction="sent"')).toBeGreaterThanOrEqual(before.a.servedBlocks + 4);
    const [ra, rb] = [await remoteOf(a), await remoteOf(b)];
    expect(rb.hitBlocks).toBeGreaterThanOrEqual(before.b.hitBlocks + 4);
    expect(rb.reads).toBeGreaterThan(before.b.reads);
    expect(ra.servedBlocks).toBeGreaterThanOrEqual(before.a.servedBlocks + 4);
  });
});
