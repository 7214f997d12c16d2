// The mock engine as a real client of a KV shard: offload after prefill, hits loaded instead of
// computed on another engine (modelled TTFT lower than a cold run), corruption caught, and a shard
// that goes away never failing a request. Times compared are the engine model's, never the clock's.
import { openSync, writeSync, closeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { blockHashes, GPU_PROFILES, KvOffload, startMockEngine, type RunningMockEngine } from '../../src/mock-engine/index.js';
import { tokenIds } from '../../src/mock-engine/hash.js';
import { chainKeysForTokens, KvClient } from '../../src/kvcache/client/index.js';
import { chainSeed } from '../../src/mock-engine/vllm-keys.js';
import { havePromtool, promtoolLint, promtoolSkipNote } from '../helpers/promtool.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';

const engines: RunningMockEngine[] = [];
const shards: TestShard[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  await Promise.all(shards.splice(0).map((s) => s.stop()));
});

/** An h100 whose own prefix cache holds 48 blocks (768 tokens): the shard is what carries prompts across. */
const TINY = { ...GPU_PROFILES.h100!, kvBlocks: 48 };
/** 20 blocks of 16 tokens (4 characters a token): prefix-cache matches stop at 19, the last token is computed. */
const PROMPT = Array.from({ length: 320 }, (_, i) => `w${(i * 7919) % 997}`.padEnd(4, '.')).join('');

async function shard(): Promise<TestShard> {
  const s = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '16MiB' });
  shards.push(s);
  return s;
}

async function engine(socket: string, name: string): Promise<RunningMockEngine> {
  const e = await startMockEngine({ timeScale: Infinity, gpu: TINY, kvSocket: socket, name });
  engines.push(e);
  return e;
}

async function complete(e: RunningMockEngine, prompt = PROMPT, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await fetch(`${e.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt, max_tokens: 2, ...extra }) });
  expect(r.status).toBe(200);
  await r.json();
}

/** The modelled TTFT sum (seconds of model time) from the engine's /metrics. */
async function ttftSum(e: RunningMockEngine): Promise<number> {
  const text = await (await fetch(`${e.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('vllm:time_to_first_token_seconds_sum{'));
  return Number(line?.slice(line.lastIndexOf(' ') + 1));
}

const kv = (e: RunningMockEngine) => e.stats().kv!;

describe('mock engine KV offload through the node shard', () => {
  it('looks a prompt up with the one-call remote read when the shard serves it (the shard asks its directory for the missing chain)', async () => {
    const s = await shard();
    const asked: number[] = [];
    const directory = { lookup: async (_ns: string, k: Buffer) => (asked.push(k.length / 16), { holders: [], holderOf: new Uint16Array(k.length / 16).fill(0xffff) }) };
    const transport = { mexists: async () => new Uint8Array(0), mget: async () => Promise.reject(new Error('no holder, no fetch')), close: async () => undefined };
    s.service.enableRemoteRead?.({ transport, directory });
    const off = new KvOffload({ socketPath: s.service.socketPath, namespace: 'remote', blockTokens: 16, bytesPerToken: 128 * 1024, scale: 64, loadGbps: 10 });
    expect(await off.lookup(off.keys(tokenIds(PROMPT, 4)), 20)).toBe(0);
    expect(off.stats().fallbacks).toEqual({});
    expect(asked).toEqual([20]);
    await off.close();
  });

  it('offloads after prefill; another engine loads the hit blocks instead of computing them, with a lower modelled TTFT', async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a);
    // Offloads run after the first token: wait for all 20 full blocks of the prompt.
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    expect(kv(a)).toMatchObject({ hitBlocks: 0, offloadBytes: 20 * kv(a).writtenBlockBytes, fallbacks: {} });
    // What was written is there for any client of the namespace (the vLLM connector's format, a layout of
    // its own), under the TypeScript client's chain keys.
    expect(kv(a).namespace).toBe('vllm/mock-llama-3-8b/bfloat16/mock1of64/bs16/tp0of1/pp0of1');
    const keys = a.kv!.keys(tokenIds(PROMPT, 4));
    const probe = await KvClient.connect({ socketPath: s.service.socketPath, namespace: kv(a).namespace, blockSize: kv(a).writtenBlockBytes, layout: layoutOf(a) });
    expect(await probe.exists(keys)).toBe(20);
    await probe.close();

    const b = await engine(s.service.socketPath, 'b');
    await complete(b);
    expect(kv(b).hitBlocks).toBe(19);
    expect(kv(b).loadSeconds).toBeCloseTo((19 * a.kv!.loadMsPerBlock) / 1000, 9);
    expect(b.stats().model.cachedPromptTokensTotal).toBe(0); // its own GPU cache had nothing
    expect(await ttftSum(b)).toBeLessThan(await ttftSum(a));
  });

  it("keys a request with a cache_salt as the vLLM connector does: its blocks are found only under the same salt", async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a, PROMPT, { cache_salt: 'tenant-a' });
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    const probe = await KvClient.connect({ socketPath: s.service.socketPath, namespace: kv(a).namespace, blockSize: kv(a).writtenBlockBytes, layout: layoutOf(a) });
    expect(await probe.exists(chainKeysForTokens(tokenIds(PROMPT, 4), 16, chainSeed(null, 'tenant-a')))).toBe(20);
    expect(await probe.exists(a.kv!.keys(tokenIds(PROMPT, 4)))).toBe(0);
    await probe.close();

    const b = await engine(s.service.socketPath, 'b');
    await complete(b); // no salt: nothing to load; its GPU cache now holds the unsalted prompt
    await complete(b, PROMPT, { cache_salt: 'tenant-b' });
    expect(kv(b).hitBlocks).toBe(0);
    await complete(b, PROMPT, { cache_salt: 'tenant-a' }); // a GPU miss (salted hashes), 19 blocks from the shard
    expect(kv(b).hitBlocks).toBe(19);
  });

  it('reuses its own offloaded blocks once its small GPU prefix cache has evicted them', async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a);
    const cold = await ttftSum(a);
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    // 45 blocks of another prompt push the first one out of a 48-block cache.
    await complete(a, 'q'.repeat(2880));
    expect(a.engine.cachedPrefixBlocks(blockHashes(PROMPT, 64))).toBeLessThan(19);
    const before = await ttftSum(a);
    await complete(a);
    expect(kv(a).hitBlocks).toBe(19);
    expect(kv(a).loadSeconds).toBeGreaterThan(0);
    // Loading ~17 blocks at 25 GB/s takes a fraction of computing them: well under half the cold TTFT.
    expect((await ttftSum(a)) - before).toBeLessThan(cold / 2);
  });

  it('catches a corrupted block: the hit stops before it and the request is still served', async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a);
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    // Overwrite a few bytes of block 5 in the slab file (the agent's shared mapping sees them).
    const keys = a.kv!.keys(tokenIds(PROMPT, 4));
    const probe = await KvClient.connect({ socketPath: s.service.socketPath, namespace: kv(a).namespace, blockSize: kv(a).writtenBlockBytes, layout: layoutOf(a) });
    const { leases } = await probe.lookup(keys.subarray(5 * 16, 6 * 16));
    const rec = leases[0]!;
    const fd = openSync(probe.hello.slabs[rec.slab]!, 'r+');
    writeSync(fd, Buffer.from('not the key bytes'), 0, 17, rec.offset + 100);
    closeSync(fd);
    await probe.release([rec.leaseId]);
    await probe.close();

    const b = await engine(s.service.socketPath, 'b');
    await complete(b);
    expect(kv(b)).toMatchObject({ hitBlocks: 5, corruptBlocks: 1, fallbacks: { 'lookup/corrupt': 1 } });
  });

  it('serves every request when the shard is gone, counting the fallbacks', async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a);
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    await s.stop();
    shards.length = 0;
    // A prompt the GPU cache does not hold: the lookup finds no shard, the engine prefills.
    await complete(a, 'y'.repeat(1280));
    expect(a.stats().completed).toBe(2);
    const fallbacks = kv(a).fallbacks;
    expect(fallbacks['lookup/unreachable']).toBeGreaterThanOrEqual(1);

    const never = await engine('/nonexistent/brixlet-kv.sock', 'never');
    await complete(never);
    await complete(never, 'z'.repeat(1280));
    expect(never.stats().completed).toBe(2);
    expect(kv(never)).toMatchObject({ lookups: 0, hitBlocks: 0, offloadBlocks: 0 });
    expect(kv(never).fallbacks['lookup/unreachable']).toBe(2);
  });

  it('serves requests while the shard shuts down (SHUTTING_DOWN) and when it is full (FULL), counting both', async () => {
    const small = await startTestShard({ 'kv.capacity': '4MiB', 'kv.slabSize': '4MiB' });
    shards.push(small);
    const e = await startMockEngine({ timeScale: Infinity, gpu: { ...TINY, kvBlocks: 256 }, kvSocket: small.service.socketPath, name: 'full' });
    engines.push(e);
    // 200 blocks of 32 KiB do not fit 4 MiB: the chain is written as far as it fits.
    await complete(e, 'f'.repeat(200 * 64));
    await expect.poll(() => kv(e).fallbacks['offload/full'] ?? 0).toBe(1);
    expect(kv(e).offloadBlocks).toBeGreaterThan(0);
    expect(kv(e).offloadBlocks).toBeLessThan(200);

    await small.service.drain(1000);
    await complete(e, 'g'.repeat(1280));
    expect(e.stats().completed).toBe(2);
    expect(Object.keys(kv(e).fallbacks).filter((k) => k.startsWith('lookup/'))).toEqual([expect.stringMatching(/^lookup\/(shutting_down|unreachable)$/)]);
  });

  it('exports its KV metrics on /metrics (promtool-clean when promtool is installed)', async () => {
    const s = await shard();
    const a = await engine(s.service.socketPath, 'a');
    await complete(a);
    await expect.poll(() => kv(a).offloadBlocks).toBe(20);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    expect(text).toContain('brixlet_mock_engine_kv_offload_blocks_total{model_name="mock-llama-3-8b"} 20');
    expect(text).toContain('brixlet_mock_engine_kv_scale{model_name="mock-llama-3-8b"} 64');
    expect(text).toContain('brixlet_mock_engine_kv_block_bytes{model_name="mock-llama-3-8b",kind="modelled"} 2097152');
    expect(text).toContain('brixlet_mock_engine_kv_block_bytes{model_name="mock-llama-3-8b",kind="written"} 32768');
    if (havePromtool) {
      const lint = promtoolLint(text);
      expect(lint.status).not.toBe(1);
      expect(lint.findings.filter((f) => f.name.startsWith('brixlet_'))).toEqual([]);
    } else {
      console.warn(`promtool lint${promtoolSkipNote}`);
    }
  });

  it('models an 8B model in BF16 by default: 128 KiB a token, 1/64 written, 25 GB/s loads', () => {
    const k = new KvOffload({ socketPath: '/x', namespace: 'n', blockTokens: 16, bytesPerToken: 131072, scale: 64, loadGbps: 25 });
    expect(k.blockBytes).toBe(2 * 1024 * 1024);
    expect(k.writtenBlockBytes).toBe(32 * 1024);
    expect(k.loadMsPerBlock).toBeCloseTo((2 * 1024 * 1024) / 25e6, 12);
  });
});

function layoutOf(e: RunningMockEngine): string {
  const st = kv(e);
  return `brixlet mock-engine kv: ${st.blockBytes / 16} B/token, 16 tokens/block, 1/${st.scale} scale`;
}
