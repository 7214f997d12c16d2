/**
 * The mock engine as a real client of its node's KV shard (docs/kv-protocol.md, through
 * src/kvcache/client): on a GPU prefix-cache miss it LOOKUPs the prompt's chained block keys, copies
 * the hit blocks out of the slabs and checks them, RELEASEs; after prefill it offloads the blocks the
 * shard did not have (ALLOC, write, SEAL). Bytes are real but `scale` times smaller than the
 * modelled KV (so a 2-core machine carries the traffic); the modelled load time uses the full size.
 * A shard that is gone, full or shutting down never fails a request: the engine prefills instead
 * and counts a fallback.
 */
import { BrixletError, chainKeysForTokens, ItemStatus, itemStatusName, KEY_BYTES, KvClient } from '../kvcache/client/index.js';

export interface KvOffloadOptions {
  /** The shard's unix socket (the agent's --kv.socket). */
  readonly socketPath: string;
  /** Everything that makes KV bytes incompatible; engines share blocks only within one namespace. */
  readonly namespace: string;
  /** Tokens per block: the engine's own prefix-cache block size, so both caches cut prompts alike. */
  readonly blockTokens: number;
  /** Modelled KV bytes per token. */
  readonly bytesPerToken: number;
  /** Real bytes written and read = modelled ÷ scale. */
  readonly scale: number;
  /** Modelled host→GPU bandwidth for loading hit blocks, GB/s (10^9 bytes). */
  readonly loadGbps: number;
  /** Connect timeout and longest wait for a reply (default 2 s). */
  readonly timeoutMs?: number;
  /**
   * Budget (ms) of the one-call remote read: a shard that serves LOOKUP_REMOTE may fetch the part of
   * the chain its node lacks from other agents first. 0 (default) = the agent's --kv.remote-budget.
   */
  readonly remoteBudgetMs?: number;
}

export type KvOp = 'lookup' | 'offload';

/** Totals since start (what /metrics and /admin/stats show). */
export interface KvOffloadStats {
  readonly namespace: string;
  readonly socket: string;
  readonly scale: number;
  /** Modelled bytes of one block, and what is really written for it. */
  readonly blockBytes: number;
  readonly writtenBlockBytes: number;
  readonly loadGbps: number;
  readonly lookups: number;
  readonly hitBlocks: number;
  /** Modelled seconds spent loading hit blocks instead of computing them (added by the engine model). */
  readonly loadSeconds: number;
  readonly offloadBlocks: number;
  /** Real bytes written (modelled = × scale). */
  readonly offloadBytes: number;
  /** Blocks read back whose bytes were not what their key wrote: the hit stops before them. */
  readonly corruptBlocks: number;
  /** `op/reason` → count: lookups or offloads the shard could not serve (the request went on without). */
  readonly fallbacks: Readonly<Record<string, number>>;
}

/**
 * Blocks per ALLOC/SEAL round when offloading: a long prompt's chain is written in slices, so a
 * connection never holds more than 16 write leases (512 KiB at the default scale), well under the
 * shard's --kv.max-writing-bytes (a quarter of the shard by default) even on a small shard.
 */
const OFFLOAD_BLOCKS = 16;

/** After a failed connect, requests skip the shard this long before the next try. */
const RECONNECT_MS = 1000;

export class KvOffload {
  readonly blockBytes: number;
  readonly writtenBlockBytes: number;
  /** Modelled time to load one block host→GPU. */
  readonly loadMsPerBlock: number;
  private client: KvClient | undefined;
  private connecting: Promise<KvClient | undefined> | undefined;
  private retryAt = 0;
  private closed = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly scratch: Buffer;
  private lookups = 0;
  private hitBlocks = 0;
  private loadMs = 0;
  private offloadBlocks = 0;
  private offloadBytes = 0;
  private corruptBlocks = 0;
  private readonly fallbacks = new Map<string, number>();

  constructor(readonly options: KvOffloadOptions) {
    this.blockBytes = options.bytesPerToken * options.blockTokens;
    this.writtenBlockBytes = Math.max(KEY_BYTES, Math.ceil(this.blockBytes / options.scale));
    this.loadMsPerBlock = (this.blockBytes / (options.loadGbps * 1e9)) * 1000;
    this.scratch = Buffer.allocUnsafe(this.writtenBlockBytes);
  }

  /**
   * Chained keys of the prompt's full blocks (the TypeScript client's chainKeysForTokens), from `seed`
   * (the vLLM connector's chainSeed of the request's LoRA adapter and cache salt; zeros for neither).
   */
  keys(tokenIds: readonly number[], seed?: Uint8Array): Buffer {
    return chainKeysForTokens(tokenIds, this.options.blockTokens, seed);
  }

  /**
   * Leading blocks of `keys` (at most `maxBlocks`) the shard holds intact: read out of the slabs
   * through the client (LOOKUP, or LOOKUP_REMOTE when the shard serves it, so blocks held on other
   * nodes of the pool count too; copy, RELEASE) and checked against what their writer put there.
   * 0 when the shard cannot answer (counted as a fallback).
   */
  async lookup(keys: Buffer, maxBlocks: number): Promise<number> {
    return (await this.lookupAnswer(keys, maxBlocks)) ?? 0;
  }

  /** lookup, but undefined when the shard gave no answer (unreachable, an error): only an answer says which blocks are gone. */
  async lookupAnswer(keys: Buffer, maxBlocks: number): Promise<number | undefined> {
    const n = Math.min(maxBlocks, keys.length / KEY_BYTES);
    if (n <= 0) return 0;
    const client = await this.connect('lookup');
    if (client === undefined) return undefined;
    this.lookups++;
    let blocks: Buffer[];
    try {
      blocks = await client.get(keys.subarray(0, n * KEY_BYTES), { remoteBudgetMs: this.options.remoteBudgetMs ?? 0 });
    } catch (e) {
      this.fail('lookup', e);
      return undefined;
    }
    let hits = 0;
    for (; hits < blocks.length; hits++) {
      if (!this.intact(blocks[hits] as Buffer, keys.subarray(hits * KEY_BYTES, (hits + 1) * KEY_BYTES))) {
        this.corruptBlocks++;
        this.count('lookup', 'corrupt');
        break;
      }
    }
    this.hitBlocks += hits;
    return hits;
  }

  /** Writes blocks `from`… of `keys` in the background (they continue block from−1, which the shard holds). */
  offload(keys: Buffer, from: number, onStored?: (blocks: number[]) => void): void {
    if (this.closed || from * KEY_BYTES >= keys.length) return;
    const p = this.write(keys, from, onStored).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Modelled load time the engine model charged for blocks loaded from the shard. */
  addLoadMs(ms: number): void {
    this.loadMs += ms;
  }

  stats(): KvOffloadStats {
    return {
      namespace: this.options.namespace,
      socket: this.options.socketPath,
      scale: this.options.scale,
      blockBytes: this.blockBytes,
      writtenBlockBytes: this.writtenBlockBytes,
      loadGbps: this.options.loadGbps,
      lookups: this.lookups,
      hitBlocks: this.hitBlocks,
      loadSeconds: this.loadMs / 1000,
      offloadBlocks: this.offloadBlocks,
      offloadBytes: this.offloadBytes,
      corruptBlocks: this.corruptBlocks,
      fallbacks: Object.fromEntries(this.fallbacks),
    };
  }

  /** Prometheus text lines (brixlet_mock_engine_kv_*), `label` being the engine's model_name label. */
  render(label: string): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: readonly (readonly [string, number])[]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) out.push(`${name}{${label}${labels}} ${v}`);
    };
    metric('brixlet_mock_engine_kv_lookups_total', 'counter', 'LOOKUPs sent to the KV shard on a GPU prefix-cache miss.', [['', this.lookups]]);
    metric('brixlet_mock_engine_kv_hit_blocks_total', 'counter', 'Blocks read intact from the KV shard (loaded instead of computed past the GPU cache hit).', [['', this.hitBlocks]]);
    metric('brixlet_mock_engine_kv_load_seconds_total', 'counter', 'Modelled seconds spent loading KV blocks host to GPU (block bytes / --kv-load-gbps).', [['', this.loadMs / 1000]]);
    metric('brixlet_mock_engine_kv_offload_blocks_total', 'counter', 'Blocks written to the KV shard after prefill (ALLOC, write, SEAL).', [['', this.offloadBlocks]]);
    metric('brixlet_mock_engine_kv_offload_bytes_total', 'counter', 'Bytes really written to the KV shard (modelled bytes = this x brixlet_mock_engine_kv_scale).', [['', this.offloadBytes]]);
    metric('brixlet_mock_engine_kv_corrupt_blocks_total', 'counter', 'Blocks read back with bytes other than their writer put there (the hit stops before them).', [['', this.corruptBlocks]]);
    metric(
      'brixlet_mock_engine_kv_fallbacks_total',
      'counter',
      'Lookups and offloads the KV shard could not serve; the request went on without (prefill).',
      [...this.fallbacks].map(([k, v]) => {
        const [op, reason] = k.split('/') as [string, string];
        return [`,op="${op}",reason="${reason}"`, v] as const;
      }),
    );
    metric('brixlet_mock_engine_kv_scale', 'gauge', 'Modelled KV bytes per byte really moved (--kv-scale).', [['', this.options.scale]]);
    metric('brixlet_mock_engine_kv_block_bytes', 'gauge', 'Bytes of one KV block: modelled (--kv-bytes-per-token x block tokens) and written (modelled / scale).', [
      [',kind="modelled"', this.blockBytes],
      [',kind="written"', this.writtenBlockBytes],
    ]);
    return `${out.join('\n')}\n`;
  }

  /** Waits for offloads in flight, then closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    const c = this.client ?? (await this.connecting);
    this.client = undefined;
    await c?.close();
  }

  /** onStored gets the indices of the blocks the shard took (status OK), one call per batch. */
  private async write(keys: Buffer, from: number, onStored?: (blocks: number[]) => void): Promise<void> {
    const client = await this.connect('offload');
    if (client === undefined) return;
    try {
      const n = keys.length / KEY_BYTES;
      for (let start = from; start < n; start += OFFLOAD_BLOCKS) {
        const statuses = await this.put(client, keys, start, Math.min(n, start + OFFLOAD_BLOCKS));
        // The parent left the shard since the lookup: write the chain from its start (held blocks answer EXISTS).
        if (start === from && from > 0 && statuses[0] === ItemStatus.NO_PARENT) {
          from = 0;
          start = -OFFLOAD_BLOCKS;
          continue;
        }
        // EXISTS: held already; BUSY: another engine is writing it (the chain goes on past both).
        let failed: number | undefined;
        const stored: number[] = [];
        for (const [i, st] of statuses.entries()) {
          if (st === ItemStatus.OK) {
            this.offloadBlocks++;
            this.offloadBytes += this.writtenBlockBytes;
            stored.push(start + i);
          } else if (st !== ItemStatus.EXISTS && st !== ItemStatus.BUSY && failed === undefined) failed = st;
        }
        if (stored.length > 0) onStored?.(stored);
        if (failed !== undefined) {
          // The chain stops at its first failed item: nothing after it can be cached.
          this.count('offload', itemStatusName(failed).toLowerCase());
          return;
        }
      }
    } catch (e) {
      this.fail('offload', e);
    }
  }

  /** One ALLOC, write, SEAL round for blocks [start, end) of the chain. */
  private put(client: KvClient, keys: Buffer, start: number, end: number): Promise<Uint8Array> {
    const parent = start > 0 ? { parent: keys.subarray((start - 1) * KEY_BYTES, start * KEY_BYTES) } : {};
    return client.put(keys.subarray(start * KEY_BYTES, end * KEY_BYTES), this.blocks(keys, start, end), parent);
  }

  /** A block's bytes: its 16-byte key repeated, so a reader can tell a damaged or misplaced block. */
  private blocks(keys: Buffer, from: number, to: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = from; i < to; i++) out.push(Buffer.allocUnsafe(this.writtenBlockBytes).fill(keys.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES)));
    return out;
  }

  private intact(block: Buffer, key: Buffer): boolean {
    return block.length === this.writtenBlockBytes && block.equals(this.scratch.fill(key));
  }

  /** The open client, connecting when there is none (not more often than once per RECONNECT_MS). */
  private async connect(op: KvOp): Promise<KvClient | undefined> {
    if (this.client !== undefined && !this.client.closed) return this.client;
    this.client = undefined;
    if (this.closed) return undefined;
    if (this.connecting === undefined) {
      if (performance.now() < this.retryAt) {
        this.count(op, 'unreachable');
        return undefined;
      }
      const o = this.options;
      this.connecting = KvClient.connect({
        socketPath: o.socketPath,
        namespace: o.namespace,
        blockSize: this.writtenBlockBytes,
        layout: `brixlet mock-engine kv: ${o.bytesPerToken} B/token, ${o.blockTokens} tokens/block, 1/${o.scale} scale`,
        timeoutMs: o.timeoutMs ?? 2000,
      }).then(
        (c) => {
          this.connecting = undefined;
          if (this.closed) {
            void c.close();
            return undefined;
          }
          this.client = c;
          return c;
        },
        (e: unknown) => {
          this.connecting = undefined;
          this.retryAt = performance.now() + RECONNECT_MS;
          this.fail(op, e);
          return undefined;
        },
      );
      return this.connecting;
    }
    const c = await this.connecting;
    if (c === undefined) this.count(op, 'unreachable');
    return c;
  }

  private fail(op: KvOp, e: unknown): void {
    const err = e as BrixletError;
    const reason =
      err instanceof BrixletError && err.code === 'BRX_ERR_KV_CONNECT'
        ? 'unreachable'
        : err instanceof BrixletError && err.code === 'BRX_ERR_KV_PROTOCOL'
          ? String(err.params.status ?? 'protocol').toLowerCase()
          : 'error';
    this.count(op, reason);
  }

  private count(op: KvOp, reason: string): void {
    const k = `${op}/${reason}`;
    this.fallbacks.set(k, (this.fallbacks.get(k) ?? 0) + 1);
  }
}
