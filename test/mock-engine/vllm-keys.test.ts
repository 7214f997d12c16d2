// The mock engine's port of the vLLM connector's key rules (src/mock-engine/vllm-keys.ts) against the
// connector itself (clients/python/brixlet_kv/vllm/keys.py, run with the system python3: no torch needed):
// the same inputs give the same namespaces, chain seeds and block keys.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chainKeysForTokens } from '../../src/kvcache/client/index.js';
import { chainSeed, loadableBlocks, mockLayout, vllmNamespace, type VllmNamespaceParts } from '../../src/mock-engine/vllm-keys.js';

const PY = [
  'import json, sys',
  'from brixlet_kv.vllm.keys import RequestKeys, chain_seed, kv_namespace',
  'c = json.loads(sys.argv[1])',
  'out = {"namespaces": [], "keys": []}',
  'for n in c["namespaces"]:',
  '    try:',
  '        out["namespaces"].append(kv_namespace(n["model"], n["dtype"], n["layout"], n["blockTokens"], n["tpRank"], n["tpSize"], n["ppRank"], n["ppSize"], n.get("suffix", "")))',
  '    except ValueError:',
  '        out["namespaces"].append(None)',
  'for k in c["keys"]:',
  '    rk = RequestKeys(k["blockTokens"], chain_seed(k["lora"], k["salt"]))',
  '    out["keys"].append({"seed": chain_seed(k["lora"], k["salt"]).hex(), "keys": [x.hex() for x in rk.upto(k["tokens"], 10**9)]})',
  'print(json.dumps(out))',
].join('\n');

function python(cases: unknown): { namespaces: (string | null)[]; keys: { seed: string; keys: string[] }[] } {
  const out = execFileSync('python3', ['-c', PY, JSON.stringify(cases)], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: 'clients/python' }, encoding: 'utf8' });
  return JSON.parse(out) as { namespaces: (string | null)[]; keys: { seed: string; keys: string[] }[] };
}

const base: VllmNamespaceParts = { model: 'meta-llama/Llama-3.1-8B-Instruct', dtype: 'bfloat16', layout: 'NHD', blockTokens: 16, tpRank: 0, tpSize: 1, ppRank: 0, ppSize: 1 };
const namespaces: VllmNamespaceParts[] = [
  base,
  { ...base, layout: 'HND', tpRank: 3, tpSize: 4, ppRank: 1, ppSize: 2, suffix: 'tenant-a' },
  { ...base, model: 'mock-llama-3-8b', layout: mockLayout(64) },
  { ...base, model: 'ö/模型-ünïcode', dtype: 'float16', blockTokens: 32 },
  // Past 255 bytes: the model name becomes sha256-<16 hex> (ASCII and multi-byte names).
  { ...base, model: 'org/' + 'x'.repeat(240) },
  { ...base, model: '模'.repeat(80) },
  // The longest name that still fits, and one byte more.
  { ...base, model: 'm'.repeat(255 - 'vllm//bfloat16/NHD/bs16/tp0of1/pp0of1'.length) },
  { ...base, model: 'm'.repeat(256 - 'vllm//bfloat16/NHD/bs16/tp0of1/pp0of1'.length) },
  // Too long even hashed: both refuse.
  { ...base, model: 'big', suffix: 's'.repeat(250) },
];

const tokens = Array.from({ length: 16 * 5 + 7 }, (_, i) => (i * 7919 + 13) % 128_256);
const keyCases = [
  { blockTokens: 16, lora: null, salt: null, tokens },
  { blockTokens: 16, lora: 'sql-adapter', salt: null, tokens },
  { blockTokens: 16, lora: null, salt: 'tenant-a-secret', tokens },
  { blockTokens: 16, lora: 'sql-adapter', salt: 'tenant-a-secret', tokens },
  { blockTokens: 32, lora: 'ünïcode-lora', salt: 'sälz', tokens },
  { blockTokens: 16, lora: '', salt: '', tokens: tokens.slice(0, 15) },
];

describe('vLLM connector key rules: the TypeScript port agrees with the connector', () => {
  const py = python({ namespaces, keys: keyCases });

  it('namespaces, including long model names (sha256 form) and names too long even so', () => {
    const ts = namespaces.map((n) => {
      try {
        return vllmNamespace(n);
      } catch {
        return null;
      }
    });
    expect(ts).toEqual(py.namespaces);
    // The cases cover what they claim.
    expect(ts[0]).toBe('vllm/meta-llama/Llama-3.1-8B-Instruct/bfloat16/NHD/bs16/tp0of1/pp0of1');
    expect(ts[2]).toBe('vllm/mock-llama-3-8b/bfloat16/mock1of64/bs16/tp0of1/pp0of1');
    expect(ts[4]).toMatch(/^vllm\/sha256-[0-9a-f]{16}\/bfloat16\//);
    expect(ts[5]).toMatch(/^vllm\/sha256-[0-9a-f]{16}\//);
    expect(Buffer.byteLength(ts[6] as string)).toBe(255);
    expect(ts[7]).toMatch(/^vllm\/sha256-/);
    expect(ts[8]).toBeNull();
  });

  it('chain seeds and block keys with and without a LoRA adapter and a cache salt', () => {
    const ts = keyCases.map((k) => {
      const seed = chainSeed(k.lora, k.salt);
      const keys = chainKeysForTokens(k.tokens, k.blockTokens, seed).toString('hex');
      return { seed: seed.toString('hex'), keys: keys.match(/.{32}/g) ?? [] };
    });
    expect(ts).toEqual(py.keys);
    expect(ts[0]?.seed).toBe('0'.repeat(32));
    expect(new Set(ts.slice(0, 4).map((k) => k.keys[0])).size).toBe(4); // each seed its own chain
    expect(ts[5]).toEqual({ seed: '0'.repeat(32), keys: [] });
  });

  it('at most (prompt tokens − 1) // block tokens blocks load', () => {
    expect([1, 16, 17, 32, 33, 0].map((n) => loadableBlocks(n, 16))).toEqual([0, 0, 1, 1, 2, 0]);
  });
});
