// The chain-key test vectors of docs/kv-protocol.md §7, read from the document and checked against the
// TypeScript client, the Python client and the independent client written from the document alone.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chainKeys, chainKeysForTokens, tokenBlockBytes } from '../../src/kvcache/client/chain-keys.js';

interface Vector {
  readonly blockTokens: number;
  readonly seed: string;
  readonly tokens: number[];
  readonly keys: string[];
}

/** The JSON block of §7. */
function docVectors(): Vector[] {
  const doc = readFileSync('docs/kv-protocol.md', 'utf8');
  const section = doc.slice(doc.indexOf('## 7. Chain keys'));
  const m = /```json\n([\s\S]*?)\n```/.exec(section);
  if (m === null) throw new Error('no JSON test vector block in §7 of docs/kv-protocol.md');
  return JSON.parse(m[1] as string) as Vector[];
}

const python = (code: string, arg: string): string =>
  execFileSync('python3', ['-c', code, arg], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: 'clients/python' }, encoding: 'utf8' });

describe('chain keys from token ids (docs/kv-protocol.md §7)', () => {
  const vectors = docVectors();

  it('the document has vectors, including a continued chain', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3);
    expect(vectors.some((v) => /[^0]/.test(v.seed))).toBe(true);
  });

  it('the TypeScript client computes every key of the vectors', () => {
    for (const v of vectors) expect(chainKeysForTokens(v.tokens, v.blockTokens, Buffer.from(v.seed, 'hex')).toString('hex')).toBe(v.keys.join(''));
    // The token encoding: u32 little-endian, the same keys through the byte-level chainKeys.
    expect(tokenBlockBytes([1, 2, 3, 4]).toString('hex')).toBe('01000000020000000300000004000000');
    expect(chainKeys([tokenBlockBytes([1, 2, 3, 4]), tokenBlockBytes([5, 6, 7, 8])]).toString('hex')).toBe(vectors[0]?.keys.join(''));
    expect(() => tokenBlockBytes([2 ** 32])).toThrow(RangeError);
    expect(() => tokenBlockBytes([-1])).toThrow(RangeError);
  });

  it('the Python client computes every key of the vectors', () => {
    const out = python(
      [
        'import json, sys',
        'from brixlet_kv import chain_keys_for_tokens, token_block_bytes',
        'vs = json.loads(sys.argv[1])',
        "print(json.dumps([[k.hex() for k in chain_keys_for_tokens(v['tokens'], v['blockTokens'], bytes.fromhex(v['seed']))] for v in vs]))",
      ].join('\n'),
      JSON.stringify(vectors),
    );
    expect(JSON.parse(out)).toEqual(vectors.map((v) => v.keys));
  });

  it('the independent client computes every key of the vectors', () => {
    const out = execFileSync('python3', ['test/clients/independent_client.py', 'vectors', JSON.stringify(vectors)], { encoding: 'utf8' });
    expect((JSON.parse(out) as { keys: string[][] }).keys).toEqual(vectors.map((v) => v.keys));
  });
});
