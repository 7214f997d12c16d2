import { describe, expect, it } from 'vitest';
import type { BlockStored, KvEvent, ReceivedKvEventBatch } from '../../../src/common/kv-events/types.js';
import { chainedBlockHashes, hashBlock, hashTokenBlock } from '../../../src/coordinator/router/block-hash.js';
import { tokensToText } from '../../../src/coordinator/gateway/engine-tokenizer.js';
import { createKvEventIndex, type KvEventIndex } from '../../../src/coordinator/router/kv-event-index.js';
import { loraSeed } from '../../../src/coordinator/router/lora-seed.js';
import { createPrefixIndex } from '../../../src/coordinator/router/prefix-index.js';

const BS = 4;

/** Token ids 1..n offset by `base` (distinct prompts for distinct bases). */
function ids(n: number, base = 0): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + base + i);
}

function stored(hashes: string[], tokens: number[], parent: string | null = null, o: Partial<BlockStored> = {}): BlockStored {
  return { type: 'BlockStored', blockHashes: hashes, parentBlockHash: parent, tokenIds: tokens, blockSize: BS, loraId: null, medium: null, loraName: null, ...o };
}

let seqs = new Map<string, bigint>();
function batch(events: KvEvent[], seq?: bigint, uid = 'e1'): ReceivedKvEventBatch {
  const s = seq ?? (seqs.get(uid) ?? -1n) + 1n;
  seqs.set(uid, s);
  return { topic: 'kv-events', seq: s, batch: { ts: 0, events, dataParallelRank: null } };
}

function fresh(capacity = 1000): KvEventIndex {
  seqs = new Map();
  return createKvEventIndex({ capacity, staleMs: 5000 });
}

/** The gateway's own blocks for a token-id prompt (engine tokenizer) at block size BS. */
function gatewayBlocks(tokens: number[]) {
  const prefix = createPrefixIndex({ blockTokens: BS, capacity: 100 });
  const text = tokensToText(tokens);
  return { ...prefix.blocks(text), text };
}

/** The gateway's blocks for a request to the LoRA adapter `lora`. */
function loraBlocks(tokens: number[], lora: string) {
  const prefix = createPrefixIndex({ blockTokens: BS, capacity: 100 });
  const text = tokensToText(tokens);
  return { ...prefix.blocks(text, lora), text };
}

describe('loraSeed', () => {
  it('is the vLLM connector chain seed rule, first 53 bits: sha256("brixlet-vllm\\0lora=<name>\\0salt=")', () => {
    // python3: int.from_bytes(hashlib.sha256(b'brixlet-vllm\0lora=sql\0salt=').digest()[:8], 'big') >> 11
    expect(loraSeed('sql')).toBe(3854078705180467);
    expect(loraSeed('sql')).not.toBe(loraSeed('other'));
    expect(Number.isSafeInteger(loraSeed('other'))).toBe(true);
  });
});

describe('hashTokenBlock', () => {
  it('equals hashBlock over the engine tokenizer text, ids taken mod 2^16', () => {
    const t = [1, 70000, 65535, 3, 99, 128000, 7];
    const text = tokensToText(t);
    for (let len = 1; len <= t.length; len++) expect(hashTokenBlock(42, t, 0, len)).toBe(hashBlock(42, text, 0, len));
    expect(hashTokenBlock(5, t, 2, 5)).toBe(hashBlock(5, text, 2, 5));
  });
});

describe('KvEventIndex', () => {
  it('keys stored blocks with the chained keys the gateway computes for the same token ids', () => {
    const idx = fresh();
    const t = ids(12);
    idx.ingest('e1', batch([stored(['11', '12'], t.slice(0, 8))]), 0);
    // The third block arrives in a later step, chained to its parent by the engine's hash.
    idx.ingest('e1', batch([stored(['13'], t.slice(8, 12), '12')]), 1);
    const own = chainedBlockHashes(tokensToText(t), BS, 0);
    expect([idx.keyOf('e1', '11'), idx.keyOf('e1', '12'), idx.keyOf('e1', '13')]).toEqual(own);
    expect(idx.isLive('e1')).toBe(true);
    expect(idx.matchedTokens('e1', gatewayBlocks(t))).toBe(12);
    // A prompt sharing the first two blocks only.
    expect(idx.matchedTokens('e1', gatewayBlocks([...t.slice(0, 8), 5, 5, 5, 5]))).toBe(8);
  });

  it('matches at the engine block size when the prefix index cuts other blocks', () => {
    const idx = fresh();
    const t = ids(16);
    idx.ingest('e1', batch([stored(['1', '2', '3', '4'], t)]), 0);
    const prefix = createPrefixIndex({ blockTokens: 8, capacity: 100 });
    const text = tokensToText(t);
    expect(idx.matchedTokens('e1', { ...prefix.blocks(text), text })).toBe(16);
    // Without the prompt text there is nothing to rehash: no match rather than a wrong one.
    expect(idx.matchedTokens('e1', prefix.blocks(text))).toBe(0);
  });

  it('BlockRemoved stops the match at the removed block; AllBlocksCleared empties the engine', () => {
    const idx = fresh();
    const t = ids(12);
    idx.ingest('e1', batch([stored(['a', 'b', 'c'], t)]), 0);
    idx.ingest('e1', batch([{ type: 'BlockRemoved', blockHashes: ['b'], medium: null }]), 1);
    expect(idx.engineBlocks('e1')).toBe(2);
    expect(idx.matchedTokens('e1', gatewayBlocks(t))).toBe(4);
    idx.ingest('e1', batch([{ type: 'AllBlocksCleared' }]), 2);
    expect(idx.engineBlocks('e1')).toBe(0);
    expect(idx.size).toBe(0);
    expect(idx.matchedTokens('e1', gatewayBlocks(t))).toBe(0);
  });

  it('keeps a block per medium and weighs a pool-tier-only block below a GPU one', () => {
    const idx = fresh();
    const t = ids(8);
    idx.ingest('e1', batch([stored(['a', 'b'], t)]), 0);
    // The pool tier stores the same blocks (no token ids, as offload tiers send them).
    idx.ingest('e1', batch([stored(['a', 'b'], [], null, { medium: 'BRIXLET' })]), 1);
    idx.ingest('e1', batch([{ type: 'BlockRemoved', blockHashes: ['b'], medium: 'GPU' }]), 2);
    const key = chainedBlockHashes(tokensToText(t), BS, 0)[1] as number;
    expect(idx.mediaOf('e1', key)).toEqual({ gpu: false, tier: true });
    expect(idx.matchedTokens('e1', gatewayBlocks(t))).toBe(4 + 0.5 * 4);
    idx.ingest('e1', batch([{ type: 'BlockRemoved', blockHashes: ['b'], medium: 'BRIXLET' }]), 3);
    expect(idx.mediaOf('e1', key)).toBeUndefined();
    expect(idx.engineBlocks('e1')).toBe(1);
  });

  it('does not key blocks whose parent it never saw, nor adapter blocks named only by lora_id', () => {
    const idx = fresh();
    idx.ingest('e1', batch([stored(['x'], ids(4), 'unknown-parent'), stored(['y'], ids(4, 50), null, { loraId: 3 })]), 0);
    expect(idx.engineBlocks('e1')).toBe(0);
    expect(idx.stats()[0]?.unkeyed).toBe(2);
  });

  it('keys LoRA blocks from the adapter seed: base and adapter prompts with equal tokens never match each other', () => {
    const idx = fresh();
    const t = ids(8);
    idx.ingest('base', batch([stored(['b0', 'b1'], t)], undefined, 'base'), 0);
    // A newer vLLM names the adapter (lora_id may come along); the chain continues under its parent.
    idx.ingest('lora', batch([stored(['l0'], t.slice(0, 4), null, { loraName: 'sql', loraId: 1 }), stored(['l1'], t.slice(4), 'l0', { loraName: 'sql', loraId: 1 })], undefined, 'lora'), 0);
    idx.setConnected('base', true, 0);
    idx.setConnected('lora', true, 0);
    const base = gatewayBlocks(t);
    const sql = loraBlocks(t, 'sql');
    const other = loraBlocks(t, 'other');
    expect(idx.matchedTokens('base', base)).toBe(8);
    expect(idx.matchedTokens('base', sql)).toBe(0);
    expect(idx.matchedTokens('lora', sql)).toBe(8);
    expect(idx.matchedTokens('lora', base)).toBe(0);
    expect(idx.matchedTokens('lora', other)).toBe(0);
    const live = (b: ReturnType<typeof gatewayBlocks>) => {
      const out: Record<string, number> = {};
      idx.matchLive(b, (uid, n) => (out[uid] = n));
      return out;
    };
    expect(live(base)).toEqual({ base: 8 });
    expect(live(sql)).toEqual({ lora: 8 });
    expect(live(other)).toEqual({});
    expect(idx.stats().map((s) => s.unkeyed)).toEqual([0, 0]);
  });

  it('keys an adapter chain the same way at another engine block size (the prompt text re-hashed from the adapter seed)', () => {
    const idx = fresh();
    const t = ids(8);
    idx.ingest('e1', batch([stored(['l0', 'l1'], t, null, { loraName: 'sql', blockSize: 4 })]), 0);
    const prefix = createPrefixIndex({ blockTokens: 2, capacity: 100 });
    const text = tokensToText(t);
    expect(idx.matchedTokens('e1', { ...prefix.blocks(text, 'sql'), text })).toBe(8);
    expect(idx.matchedTokens('e1', { ...prefix.blocks(text), text })).toBe(0);
  });

  it('stays within its capacity by evicting the oldest stored blocks', () => {
    const idx = fresh(5);
    for (let i = 0; i < 4; i++) idx.ingest('e1', batch([stored([`p${i}-0`, `p${i}-1`], ids(8, i * 100))]), i);
    expect(idx.size).toBe(5);
    expect(idx.evicted).toBe(3);
    // The newest prompt is whole; the first ones were evicted.
    expect(idx.matchedTokens('e1', gatewayBlocks(ids(8, 300)))).toBe(8);
    expect(idx.matchedTokens('e1', gatewayBlocks(ids(8, 0)))).toBe(0);
    expect(idx.keyOf('e1', 'p0-0')).toBeUndefined();
  });

  it('grows its arrays past the initial allocation and reuses freed entries', () => {
    const idx = createKvEventIndex({ capacity: 40_000 });
    const events: KvEvent[] = [];
    for (let i = 0; i < 20_000; i++) events.push(stored([`h${i}`], ids(4, i * 4)));
    idx.ingest('e1', { topic: 't', seq: 0n, batch: { ts: 0, events, dataParallelRank: null } }, 0);
    expect(idx.size).toBe(20_000);
    idx.ingest('e1', { topic: 't', seq: 1n, batch: { ts: 0, events: [{ type: 'AllBlocksCleared' }], dataParallelRank: null } }, 0);
    idx.ingest('e1', { topic: 't', seq: 2n, batch: { ts: 0, events, dataParallelRank: null } }, 0);
    expect(idx.size).toBe(20_000);
    expect(idx.matchedTokens('e1', gatewayBlocks(ids(4, 4 * 19_999)))).toBe(4);
  });

  it('falls back when batches stop or the subscription drops (clock seam)', () => {
    const idx = fresh();
    idx.ingest('e1', batch([stored(['a'], ids(4))]), 1000);
    expect(idx.sweep(5000)).toEqual([]);
    expect(idx.isLive('e1')).toBe(true);
    expect(idx.sweep(6001)).toEqual(['e1']);
    expect(idx.isLive('e1')).toBe(false);
    expect(idx.liveEngines).toBe(0);
    idx.ingest('e1', batch([]), 7000);
    expect(idx.isLive('e1')).toBe(true);
    idx.setConnected('e1', false, 7001);
    expect(idx.isLive('e1')).toBe(false);
    // Batches while disconnected (replays) are applied but do not make it live.
    idx.ingest('e1', batch([]), 7002);
    expect(idx.isLive('e1')).toBe(false);
    idx.setConnected('e1', true, 7003);
    expect(idx.isLive('e1')).toBe(true);
  });

  it('counts and skips out-of-order and malformed batches, counts gaps, and drops a restarted engine', () => {
    const idx = fresh();
    expect(idx.ingest('e1', batch([stored(['a'], ids(4))], 5n), 0)).toBe('applied');
    expect(idx.ingest('e1', batch([stored(['z'], ids(4, 9))], 5n), 0)).toBe('out-of-order');
    expect(idx.ingest('e1', batch([stored(['z'], ids(4, 9))], 3n), 0)).toBe('out-of-order');
    // Token ids that are not one block per hash; a bad block size: the whole batch is skipped.
    expect(idx.ingest('e1', batch([stored(['b'], ids(4), 'a'), stored(['c'], ids(3), 'b')], 6n), 0)).toBe('malformed');
    expect(idx.ingest('e1', batch([stored(['b'], ids(4), 'a', { blockSize: 0 })], 7n), 0)).toBe('malformed');
    expect(idx.ingest('e1', batch([{ type: 'Bogus' } as unknown as KvEvent], 8n), 0)).toBe('malformed');
    expect(idx.engineBlocks('e1')).toBe(1);
    expect(idx.ingest('e1', batch([stored(['b'], ids(4, 4), 'a')], 12n), 0)).toBe('applied');
    let s = idx.stats()[0];
    // 6..11 never applied (three of them malformed): the index may lack their events.
    expect(s).toMatchObject({ batches: 2, outOfOrder: 2, malformed: 3, gaps: 1, missedBatches: 6, blocks: 2 });
    // Sequence 0 after higher ones: the publisher restarted with an empty cache.
    expect(idx.ingest('e1', batch([stored(['n'], ids(4, 77))], 0n), 0)).toBe('applied');
    s = idx.stats()[0];
    expect(s).toMatchObject({ restarts: 1, blocks: 1 });
  });

  it('a new block size clears what was indexed under the old one', () => {
    const idx = fresh();
    idx.ingest('e1', batch([stored(['a', 'b'], ids(8))]), 0);
    idx.ingest('e1', batch([stored(['c'], ids(8), null, { blockSize: 8 })]), 0);
    expect(idx.engineBlocks('e1')).toBe(1);
    expect(idx.stats()[0]?.blockSize).toBe(8);
  });

  it('removeEngine frees the engine and its entries', () => {
    const idx = fresh();
    idx.ingest('e1', batch([stored(['a', 'b'], ids(8))]), 0);
    idx.ingest('e2', batch([stored(['a'], ids(4))], 0n, 'e2'), 0);
    idx.removeEngine('e1');
    expect(idx.size).toBe(1);
    expect(idx.isLive('e1')).toBe(false);
    expect(idx.stats().map((s) => s.uid)).toEqual(['e2']);
    expect(idx.matchedTokens('e2', gatewayBlocks(ids(8)))).toBe(4);
  });
});
