// `brixlet up --engines N` attaches every mock engine to an in-process agent's KV shard (round robin
// over the agents): a prompt one engine prefilled is loaded, not recomputed, by another engine on
// the same shard.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOOPBACK, startService } from '../../helpers/services.js';

const root = mkdtempSync(join(tmpdir(), 'brixlet-up-engines-kv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface KvStats {
  readonly socket: string;
  readonly hitBlocks: number;
  readonly offloadBlocks: number;
  readonly fallbacks: Record<string, number>;
}

const PROMPT = 'abcd'.repeat(320); // 320 tokens, 20 blocks

async function complete(url: string): Promise<void> {
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-llama-3-8b', prompt: PROMPT, max_tokens: 1 }) });
  expect(r.status).toBe(200);
  await r.json();
}

async function kv(url: string): Promise<KvStats> {
  return ((await (await fetch(`${url}/admin/stats`)).json()) as { kv: KvStats }).kv;
}

describe('brixlet up --engines N with the KV shard', () => {
  it('attaches each engine to the agent KV socket; a prompt offloaded by one engine is a hit on the other', async () => {
    const svc = await startService(
      ['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', ...LOOPBACK, '--engines', '2', '--engine-time-scale', 'inf'],
      { BRIXLET_KV_DIR: join(root, 'slabs'), BRIXLET_KV_SOCKET: join(root, 'kv.sock'), BRIXLET_KV_CAPACITY: '16MiB', BRIXLET_KV_SLAB_SIZE: '16MiB' },
    );
    const { kvSocket } = svc.urls as Record<string, string>;
    const e0 = svc.urls['engine-0'] as string;
    const e1 = svc.urls['engine-1'] as string;
    expect((await kv(e0)).socket).toBe(kvSocket);
    expect((await kv(e1)).socket).toBe(kvSocket);
    await complete(e0);
    await expect.poll(async () => (await kv(e0)).offloadBlocks).toBe(20);
    await complete(e1);
    expect(await kv(e1)).toMatchObject({ hitBlocks: 19, fallbacks: {} });
    expect(await svc.stop()).toBe(0);
  });

  it('with --agents 2 attaches the engines to the agents round robin', async () => {
    const svc = await startService(
      ['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--kv.peer-port', '0', ...LOOPBACK, '--agents', '2', '--engines', '3', '--engine-time-scale', 'inf'],
      { BRIXLET_KV_DIR: join(root, 'slabs-2'), BRIXLET_KV_SOCKET: join(root, 'kv2.sock'), BRIXLET_KV_CAPACITY: '16MiB', BRIXLET_KV_SLAB_SIZE: '16MiB' },
    );
    const urls = svc.urls as Record<string, string>;
    const sockets = await Promise.all(['engine-0', 'engine-1', 'engine-2'].map(async (e) => (await kv(urls[e] as string)).socket));
    expect(sockets).toEqual([urls.kvSocket, urls['kvSocket-1'], urls.kvSocket]);
    expect(new Set(sockets).size).toBe(2);
    expect(await svc.stop()).toBe(0);
  });
});
