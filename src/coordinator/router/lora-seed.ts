/**
 * The seed (h_{-1}) of the gateway's chained block keys for a request to a LoRA adapter, and for the
 * blocks an engine's KV events report under that adapter's name: an adapter's KV differs from the
 * base model's for the same tokens, so its chain must never meet the base model's or another
 * adapter's. The rule is the vLLM connector's (clients/python/brixlet_kv/vllm/keys.py chain_seed
 * without a cache salt): SHA-256 of `brixlet-vllm\0lora=<name>\0salt=`, here its first 53 bits as a
 * safe integer (`int.from_bytes(digest[:8], 'big') >> 11`; the gateway's keys are 53-bit).
 */
import { createHash } from 'node:crypto';

const TWO_32 = 4294967296;
/** Adapter names seen are few; the cache is dropped whole past this many. */
const CACHE_MAX = 1024;
const cache = new Map<string, number>();

/** The chain seed of the LoRA adapter `name`. */
export function loraSeed(name: string): number {
  let seed = cache.get(name);
  if (seed !== undefined) return seed;
  const d = createHash('sha256').update(`brixlet-vllm\0lora=${name}\0salt=`).digest();
  const hi = d.readUInt32BE(0);
  seed = (hi >>> 11) * TWO_32 + ((((hi & 0x7ff) << 21) | (d.readUInt32BE(4) >>> 11)) >>> 0);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(name, seed);
  return seed;
}
