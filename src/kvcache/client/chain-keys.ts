/**
 * Chained block keys, the same in every brixlet client (TypeScript here, Python in
 * clients/python): k_i = the first 16 bytes of sha256(k_(i−1) ‖ block_i), where k_(−1) is the
 * 16-byte seed (16 zero bytes by default). A key therefore names a block and its whole prefix, and
 * passing the last key of a chain as the seed continues that chain.
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
