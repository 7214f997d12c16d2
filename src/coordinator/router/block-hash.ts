/**
 * Chained block hashes of a prompt: `hashes[k] = H(hashes[k-1] ‖ block k)` with `hashes[-1] = seed`,
 * fixed-size blocks of UTF-16 code units (characters as tokens), the incomplete tail not hashed.
 * Chaining makes a block's hash depend on everything before it, so the same text at another
 * position hashes differently and a hit on block k implies the whole prefix up to k.
 *
 * H is a non-cryptographic hash over the block's code units taken two at a time as 32-bit words
 * (`c[i] | c[i+1] << 16`), with three multiply-rotate lanes (below), finalised with fmix32 and
 * combined into a safe integer of 53 bits. Every step is a bijection, so blocks that differ in one
 * word never collide; random blocks collide with probability ≈ n² / 2^54 (6·10^-5 at 10^6 blocks).
 *
 * Speed: the prompt is copied once per 64 Ki characters into a reusable buffer by the native
 * UTF-16 encoder and read as Int32 words (about 4× faster than charCodeAt on concatenated strings).
 * `hashBlock` is the same function over charCodeAt: the reference, and the path for blocks over 64 Ki characters.
 */
import { Buffer } from 'node:buffer';

const TWO_32 = 4294967296;
/** Characters copied per chunk; also the largest block the buffered path takes. */
const CHUNK_CHARS = 65536;
const bytes = Buffer.allocUnsafeSlow(CHUNK_CHARS * 2);
const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, CHUNK_CHARS);
const i32 = new Int32Array(bytes.buffer, bytes.byteOffset, CHUNK_CHARS / 2);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/*
 * Three lanes over the block's 32-bit words: `a` takes the even words, `c` the odd ones, `b` every
 * pair. Each step is `x = rotl(imul(x ^ w, odd), r)` (or `imul(x + w', odd)` with an xorshift for b):
 * a bijection of the state for a fixed word and of the word for a fixed state, so blocks differing
 * in one word always differ in every lane that reads it; the independent chains let the CPU run
 * them in parallel. fmix32 finalises; a and c fold into the low 32 bits, b gives the high 21.
 */

function stepA(a: number, w: number): number {
  a = Math.imul(a ^ w, 0x9e3779b1);
  return (a << 13) | (a >>> 19);
}

function stepC(c: number, v: number): number {
  c = Math.imul(c ^ v, 0x85ebca77);
  return (c << 15) | (c >>> 17);
}

function stepB(b: number, w: number, v: number): number {
  b = Math.imul(b + (w ^ ((v << 7) | (v >>> 25))), 0x01000193);
  return b ^ (b >>> 13);
}

function initA(prev: number): number {
  return (prev >>> 0) ^ 0x6a09e667;
}

function initB(prev: number): number {
  return Math.imul(Math.floor(prev / TWO_32) ^ 0x7f4a7c15, 0x2c1b3c6d) ^ (prev >>> 0);
}

function initC(prev: number): number {
  return Math.imul((prev >>> 0) ^ 0xbb67ae85, 0x27d4eb2f) ^ Math.floor(prev / TWO_32);
}

function finish(a: number, b: number, c: number, len: number): number {
  const lo = fmix32(a ^ fmix32(c ^ len));
  const hi = fmix32(b ^ len ^ Math.imul(lo, 0x27d4eb2f));
  return (hi & 0x1fffff) * TWO_32 + (lo >>> 0);
}

/** H(prev ‖ text[start, start+len)) over charCodeAt: the reference definition. */
export function hashBlock(prev: number, text: string, start: number, len: number): number {
  let a = initA(prev);
  let b = initB(prev);
  let c = initC(prev);
  const end = start + len;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const w = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    const v = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    a = stepA(a, w);
    c = stepC(c, v);
    b = stepB(b, w, v);
  }
  if (i + 1 < end) {
    const w = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    a = stepA(a, w);
    b = stepB(b, w, 0);
    i += 2;
  }
  if (i < end) {
    const ch = text.charCodeAt(i);
    c = stepC(c, ch);
    b = stepB(b, 0, ch);
  }
  return finish(a, b, c, len);
}

/** The same hash over the buffered chunk, `start` in characters from the chunk start. */
function hashBuffered(prev: number, start: number, len: number): number {
  if ((start & 1) !== 0) return hashUnaligned(prev, start, len);
  let a = initA(prev);
  let b = initB(prev);
  let c = initC(prev);
  const wordEnd = (start + (len & ~1)) >> 1;
  let j = start >> 1;
  for (; j + 1 < wordEnd; j += 2) {
    const w = i32[j] as number;
    const v = i32[j + 1] as number;
    a = stepA(a, w);
    c = stepC(c, v);
    b = stepB(b, w, v);
  }
  if (j < wordEnd) {
    const w = i32[j] as number;
    a = stepA(a, w);
    b = stepB(b, w, 0);
  }
  if ((len & 1) !== 0) {
    const ch = u16[start + len - 1] as number;
    c = stepC(c, ch);
    b = stepB(b, 0, ch);
  }
  return finish(a, b, c, len);
}

/** Blocks at odd offsets (odd block sizes) read code units pairwise from the chunk. */
function hashUnaligned(prev: number, start: number, len: number): number {
  let a = initA(prev);
  let b = initB(prev);
  let c = initC(prev);
  const end = start + len;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const w = (u16[i] as number) | ((u16[i + 1] as number) << 16);
    const v = (u16[i + 2] as number) | ((u16[i + 3] as number) << 16);
    a = stepA(a, w);
    c = stepC(c, v);
    b = stepB(b, w, v);
  }
  if (i + 1 < end) {
    const w = (u16[i] as number) | ((u16[i + 1] as number) << 16);
    a = stepA(a, w);
    b = stepB(b, w, 0);
    i += 2;
  }
  if (i < end) {
    const ch = u16[i] as number;
    c = stepC(c, ch);
    b = stepB(b, 0, ch);
  }
  return finish(a, b, c, len);
}

/** Chained hashes of every complete `blockTokens`-long block of `text`, seeded with `seed`. */
export function chainedBlockHashes(text: string, blockTokens: number, seed: number): number[] {
  const n = Math.floor(text.length / blockTokens);
  const hashes = new Array<number>(n);
  let prev = seed;
  if (blockTokens > CHUNK_CHARS) {
    for (let k = 0; k < n; k++) hashes[k] = prev = hashBlock(prev, text, k * blockTokens, blockTokens);
    return hashes;
  }
  const perChunk = Math.floor(CHUNK_CHARS / blockTokens);
  const chunkChars = perChunk * blockTokens;
  let k = 0;
  for (let off = 0; k < n; off += chunkChars) {
    // The first chunk is copied straight from the prompt (write stops at the buffer end).
    if (off === 0) bytes.write(text, 0, 'utf16le');
    else bytes.write(text.substring(off, off + chunkChars), 0, 'utf16le');
    const end = Math.min(n, k + perChunk);
    for (let start = 0; k < end; k++, start += blockTokens) hashes[k] = prev = hashBuffered(prev, start, blockTokens);
  }
  return hashes;
}

/**
 * hashBlock over token ids: the same value as `hashBlock(prev, tokensToText(ids), start, len)` (each
 * id taken mod 2^16 as one code unit, as the engine tokenizer builds the prompt the index hashes),
 * without building a string. The KV-event index keys an engine's stored blocks with it.
 */
export function hashTokenBlock(prev: number, ids: readonly number[], start: number, len: number): number {
  let a = initA(prev);
  let b = initB(prev);
  let c = initC(prev);
  const end = start + len;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const w = ((ids[i] as number) & 0xffff) | (((ids[i + 1] as number) & 0xffff) << 16);
    const v = ((ids[i + 2] as number) & 0xffff) | (((ids[i + 3] as number) & 0xffff) << 16);
    a = stepA(a, w);
    c = stepC(c, v);
    b = stepB(b, w, v);
  }
  if (i + 1 < end) {
    const w = ((ids[i] as number) & 0xffff) | (((ids[i + 1] as number) & 0xffff) << 16);
    a = stepA(a, w);
    b = stepB(b, w, 0);
    i += 2;
  }
  if (i < end) {
    const ch = (ids[i] as number) & 0xffff;
    c = stepC(c, ch);
    b = stepB(b, 0, ch);
  }
  return finish(a, b, c, len);
}
