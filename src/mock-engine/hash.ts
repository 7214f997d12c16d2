/**
 * Chained prefix-block hashes over characters, for the mock engine's own prefix cache and for any
 * caller (router, simulator) that wants the same keys. Not cryptographic: two 32-bit multiply-xor
 * lanes run over every UTF-16 code unit and are finalised into one 53-bit integer at each block
 * boundary. The running state is never reset, so block k's hash depends on every character before
 * it: equal hashes mean equal prefixes (up to a ~2^-53 collision chance), never equal blocks at
 * different places, the false match that independent block hashes give.
 */
import { fmix32 } from '../common/fmix32.js';

const LO_SEED = 0x811c9dc5;
const HI_SEED = 0x9e3779b9;

/**
 * One hash per full block of `blockChars` characters of `text` (a tail shorter than a block gets
 * none). `seed` changes every hash, for callers that must not share a key space.
 */
export function blockHashes(text: string, blockChars: number, seed = 0): number[] {
  if (!(blockChars >= 1) || !Number.isInteger(blockChars)) throw new RangeError(`blockChars must be a positive integer, got ${blockChars}`);
  const blocks = Math.floor(text.length / blockChars);
  const out = new Array<number>(blocks);
  let lo = (LO_SEED ^ seed) | 0;
  let hi = (HI_SEED ^ Math.imul(seed, 0x27d4eb2f)) | 0;
  let i = 0;
  for (let b = 0; b < blocks; b++) {
    const end = i + blockChars;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      lo = Math.imul(lo ^ c, 0x01000193);
      hi = Math.imul(hi ^ c, 0x5bd1e995);
      hi ^= hi >>> 15;
    }
    out[b] = finish(lo, hi, b);
  }
  return out;
}

/** Prompt length in tokens when `charsPerToken` characters make one token (at least 1 for a non-empty text). */
export function tokensOf(text: string, charsPerToken: number): number {
  return Math.ceil(text.length / charsPerToken);
}

/** 53-bit value from the two lanes (murmur3's fmix32 on each), mixing in the block index. */
function finish(lo: number, hi: number, index: number): number {
  let a = fmix32(lo ^ Math.imul(index + 1, 0x9e3779b1));
  let b = fmix32(hi ^ a);
  a >>>= 0;
  b &= 0x1fffff;
  return b * 0x100000000 + a;
}


/**
 * Token ids of `text` as the mock engine's /tokenize reports them: one id per `charsPerToken`
 * characters, a 15-bit hash of that chunk (so equal prefixes give equal ids, as a real tokenizer's do).
 */
export function tokenIds(text: string, charsPerToken: number): number[] {
  const step = Math.max(1, Math.round(charsPerToken));
  const ids = new Array<number>(Math.ceil(text.length / step));
  for (let t = 0, i = 0; i < text.length; t++, i += step) {
    let h = 0x811c9dc5;
    const end = Math.min(text.length, i + step);
    for (let j = i; j < end; j++) h = Math.imul(h ^ text.charCodeAt(j), 0x01000193);
    ids[t] = (h >>> 17) + 1;
  }
  return ids;
}
