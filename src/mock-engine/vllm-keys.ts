/**
 * The vLLM connector's key and block rules (clients/python/brixlet_kv/vllm/keys.py and scheduler.py),
 * ported so that the mock engine offloads to and loads from its node's shard the way a vLLM engine with
 * BrixletConnector does. test/mock-engine/vllm-keys.test.ts runs both on the same inputs.
 *
 * - Keys: brixlet's chained token keys (docs/kv-protocol.md §7) seeded by `chainSeed`: 16 zero bytes for
 *   the base model without a cache salt, else `sha256("brixlet-vllm\0lora=<lora>\0salt=<salt>")[:16]`.
 * - Namespace: `vllm/<model>/<dtype>/<layout>/bs<N>/tp<r>of<s>/pp<r>of<s>[/<suffix>]`, the model name
 *   replaced by `sha256-<16 hex digits>` where the whole would pass the protocol's 255 bytes.
 * - Blocks: at most (prompt tokens − 1) // block tokens load (the last token is always computed), only
 *   whole blocks beyond the GPU prefix-cache hit; the prompt's full blocks are saved.
 */
import { createHash } from 'node:crypto';
import { KEY_BYTES } from '../kvcache/client/index.js';

const MAX_NAMESPACE_BYTES = 255;
const ZERO_SEED = Buffer.alloc(KEY_BYTES);

/** The seed of a request's key chain: its LoRA adapter's name and its cache salt (either may be absent). */
export function chainSeed(loraName?: string | null, cacheSalt?: string | null): Buffer {
  if (!loraName && !cacheSalt) return ZERO_SEED;
  return createHash('sha256')
    .update(`brixlet-vllm\0lora=${loraName ?? ''}\0salt=${cacheSalt ?? ''}`, 'utf8')
    .digest()
    .subarray(0, KEY_BYTES);
}

export interface VllmNamespaceParts {
  readonly model: string;
  /** vLLM's KV cache dtype (the model's dtype without `torch.` under cache_dtype "auto"), e.g. `bfloat16`. */
  readonly dtype: string;
  /** KV cache layout: vLLM's `NHD` / `HND`; the mock engine's is `mockLayout(scale)`. */
  readonly layout: string;
  readonly blockTokens: number;
  readonly tpRank: number;
  readonly tpSize: number;
  readonly ppRank: number;
  readonly ppSize: number;
  readonly suffix?: string;
}

/** The connector's namespace (its `kv_namespace`); throws where even the hashed model name is too long. */
export function vllmNamespace(p: VllmNamespaceParts): string {
  const build = (m: string): string => {
    const ns = `vllm/${m}/${p.dtype}/${p.layout}/bs${p.blockTokens}/tp${p.tpRank}of${p.tpSize}/pp${p.ppRank}of${p.ppSize}`;
    return p.suffix ? `${ns}/${p.suffix}` : ns;
  };
  let ns = build(p.model);
  if (Buffer.byteLength(ns, 'utf8') > MAX_NAMESPACE_BYTES) ns = build(`sha256-${createHash('sha256').update(p.model, 'utf8').digest('hex').slice(0, 16)}`);
  if (Buffer.byteLength(ns, 'utf8') > MAX_NAMESPACE_BYTES) throw new RangeError(`KV namespace '${ns}' is longer than ${MAX_NAMESPACE_BYTES} bytes; shorten the suffix`);
  return ns;
}

/**
 * The layout name of the mock engine's blocks: they hold 1/scale of the modelled bytes (a key pattern, not
 * KV), so they never share a namespace with a real vLLM's blocks.
 */
export function mockLayout(scale: number): string {
  return `mock1of${scale}`;
}

/** Blocks of a prompt that may load from the shard: the last token is always computed. */
export function loadableBlocks(promptTokens: number, blockTokens: number): number {
  return Math.max(0, Math.floor((promptTokens - 1) / blockTokens));
}
