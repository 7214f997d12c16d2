// A client written from docs/kv-protocol.md alone (test/clients/independent_client.py) and the brixlet
// clients share blocks through one shard: each finds what the other stored, by its own keys.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainKeysForTokens } from '../../src/kvcache/client/chain-keys.js';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { ItemStatus } from '../../src/kvcache/protocol.js';
import { startTestShard, type TestShard } from '../helpers/test-shard.js';

const BLOCK = 16 * 1024;
const B = 16;
let shard: TestShard | undefined;

beforeAll(async () => {
  shard = await startTestShard({ 'kv.capacity': '16MiB', 'kv.slabSize': '8MiB', 'kv.pageSize': '1MiB' });
});

afterAll(async () => {
  await shard?.stop();
});

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: 'clients/python' }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${file} ${args[0] ?? ''} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

const independent = (cmd: 'put' | 'get', ns: string, tokens: number[]) =>
  run('python3', ['test/clients/independent_client.py', cmd, shard?.service.socketPath ?? '', ns, String(BLOCK), String(B), JSON.stringify(tokens)]).then((o) => JSON.parse(o) as { statuses?: number[]; hits?: number; intact?: boolean });

/** The independent client's block bytes: the key repeated to the block size. */
function content(key: Buffer): Buffer {
  return Buffer.alloc(BLOCK, key);
}

function tokens(n: number, from: number): number[] {
  return Array.from({ length: n }, (_, i) => (from + i * 7919) >>> 0);
}

describe('an independent client and the brixlet clients share blocks (shared keys)', () => {
  it('the TypeScript client finds what the independent client stored, and the other way round', { timeout: 60_000 }, async () => {
    const sock = shard?.service.socketPath ?? '';
    const ns = 'model-x/bf16/b16';
    // Three full blocks and a tail that is never cached.
    const prompt = tokens(3 * B + 5, 151_000);
    expect((await independent('put', ns, prompt)).statuses).toEqual([0, 0, 0]);

    const ts = await KvClient.connect({ socketPath: sock, namespace: ns, blockSize: BLOCK });
    try {
      const keys = chainKeysForTokens(prompt, B);
      const got = await ts.get(keys);
      expect(got).toHaveLength(3);
      for (let i = 0; i < 3; i++) expect(got[i]?.equals(content(keys.subarray(i * 16, i * 16 + 16)))).toBe(true);

      // The TypeScript client continues the same conversation; the independent client finds all of it.
      const longer = [...prompt.slice(0, 3 * B), ...tokens(2 * B, 7)];
      const keys2 = chainKeysForTokens(longer, B);
      const blocks = [0, 1, 2, 3, 4].map((i) => content(keys2.subarray(i * 16, i * 16 + 16)));
      expect([...(await ts.put(keys2, blocks))]).toEqual([ItemStatus.EXISTS, ItemStatus.EXISTS, ItemStatus.EXISTS, ItemStatus.OK, ItemStatus.OK]);
      expect(await independent('get', ns, longer)).toEqual({ hits: 5, intact: true });
      // A different prompt shares nothing.
      expect(await independent('get', ns, tokens(2 * B, 3))).toEqual({ hits: 0, intact: true });
    } finally {
      await ts.close();
    }
  });

  it('the Python client finds what the independent client stored', { timeout: 60_000 }, async () => {
    const ns = 'model-y/bf16/b16';
    const prompt = tokens(2 * B, 42);
    expect((await independent('put', ns, prompt)).statuses).toEqual([0, 0]);
    const code = [
      'import json, sys',
      'from brixlet_kv import KvClient, chain_keys_for_tokens',
      `kv = KvClient(sys.argv[1], ${JSON.stringify(ns)}, block_size=${BLOCK})`,
      `keys = chain_keys_for_tokens(json.loads(sys.argv[2]), ${B})`,
      'got = kv.get(keys)',
      `print(json.dumps({"hits": len(got), "intact": all(b == (k * ${BLOCK / 16}) for b, k in zip(got, keys))}))`,
      'kv.close()',
    ].join('\n');
    const out = await run('python3', ['-c', code, shard?.service.socketPath ?? '', JSON.stringify(prompt)]);
    expect(JSON.parse(out)).toEqual({ hits: 2, intact: true });
  });
});
