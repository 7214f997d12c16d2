/**
 * Chained block keys, the same in every brixlet client (TypeScript here, Python in
 * clients/python; docs/kv-protocol.md §7): k_i = the first 16 bytes of sha256(k_(i−1) ‖ block_i),
 * where k_(−1) is the 16-byte seed (16 zero bytes by default) and block_i the block's token ids as
 * u32 little-endian (`chainKeysForTokens`) or any bytes an application chooses (`chainKeys`). A key
 * therefore names a block and its whole prefix, and passing the last key of a chain as the seed
 * continues that chain.
 */
import { createHash } from 'node:crypto';
import { KEY_BYTES } from '../protocol.js';

const ZERO_SEED = new Uint8Array(KEY_BYTES);

/** n blocks → one buffer of n × 16 chained keys. */
export function chainKeys(blocks: readonly Uint8Array[], seed: Uint8Array = ZERO_SEED): Buffer {
  if (seed.length !== KEY_BYTES) throw new RangeError(`a chain seed is a ${KEY_BYTES}-byte key, got ${seed.length} bytes`);
  const out = Buffer.allocUnsafe(blocks.length * KEY_BYTES);
  let prev: Uint8Array = seed;
  for (let i = 0; i < blocks.length; i++) {
    const digest = createHash('sha256')
      .update(prev)
      .update(blocks[i] as Uint8Array)
      .digest();
    digest.copy(out, i * KEY_BYTES, 0, KEY_BYTES);
    prev = out.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES);
  }
  return out;
}

/**
 * The bytes that stand for one block of token ids in its key (docs/kv-protocol.md §7): each id as an
 * unsigned 32-bit little-endian integer, in order. Engines of different clients share blocks only if
 * they all hash the same bytes.
 */
export function tokenBlockBytes(tokens: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(tokens.length * 4);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as number;
    if (!Number.isInteger(t) || t < 0 || t > 0xffff_ffff) throw new RangeError(`token id ${t} at position ${i} is not an integer in 0…4294967295`);
    out.writeUInt32LE(t, i * 4);
  }
  return out;
}

/**
 * Keys of the full blocks of a token sequence, `blockTokens` ids per block (an incomplete tail has no
 * key: it is not cached). Passing the last key of a chain as `seed` continues that chain.
 */
export function chainKeysForTokens(tokens: ArrayLike<number>, blockTokens: number, seed: Uint8Array = ZERO_SEED): Buffer {
  if (!Number.isInteger(blockTokens) || blockTokens < 1) throw new RangeError(`tokens per block must be a positive integer, got ${blockTokens}`);
  const n = Math.floor(tokens.length / blockTokens);
  const bytes = tokenBlockBytes(Array.prototype.slice.call(tokens, 0, n * blockTokens) as number[]);
  const blocks: Buffer[] = [];
  for (let b = 0; b < n; b++) blocks.push(bytes.subarray(b * blockTokens * 4, (b + 1) * blockTokens * 4));
  return chainKeys(blocks, seed);
}
