/**
 * msgpack codec for vLLM's KV `EventBatch` (docs/kv-events.md). Encodes the positional form vLLM
 * sends (`array_like`, tag = class name, trailing default fields omitted); decodes that, the map form
 * (`{"type": "BlockStored", ...}`) and every field revision from v0.9 on. Block hashes arrive as
 * integers (u64, bigint past 2^53) or bytes and become EngineBlockHash strings; encoding turns them back.
 * Anything malformed is a KvEventDecodeError (BRX_ERR_KV_EVENTS_DECODE), never another exception.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { BrixletError } from '../errors.js';
import type { BlockRemoved, BlockStored, EngineBlockHash, KvEvent, KvEventBatch } from './types.js';

export class KvEventDecodeError extends BrixletError {
  constructor(readonly reason: string) {
    super('BRX_ERR_KV_EVENTS_DECODE', { reason });
  }
}

/** Bounds on one payload: a hostile publisher cannot make the decoder allocate without limit. */
export const KV_EVENT_LIMITS = { maxPayloadBytes: 16 * 1024 * 1024, maxArrayLength: 1 << 20, maxStrLength: 64 * 1024, maxBinLength: 1024 };

const decoder = new Decoder({
  useBigInt64: true,
  maxArrayLength: KV_EVENT_LIMITS.maxArrayLength,
  maxMapLength: 64,
  maxStrLength: KV_EVENT_LIMITS.maxStrLength,
  maxBinLength: KV_EVENT_LIMITS.maxBinLength,
  maxExtLength: 0,
});
const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fail(reason: string): never {
  throw new KvEventDecodeError(reason);
}

/** An engine hash as brixlet keeps it: decimal for integers, `0x` + hex for bytes. */
export function normaliseBlockHash(v: unknown): EngineBlockHash {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) fail(`block hash ${v} is not an integer`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) {
    if (v.length === 0) fail('empty block hash');
    return `0x${Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex')}`;
  }
  return fail(`block hash of type ${describe(v)}`);
}

/** The wire form of a normalised hash (the inverse of normaliseBlockHash). */
export function blockHashToWire(h: EngineBlockHash): number | bigint | Uint8Array {
  if (/^0x([0-9a-f]{2})+$/.test(h)) return Buffer.from(h.slice(2), 'hex');
  if (/^-?\d+$/.test(h)) {
    const b = BigInt(h);
    return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : b;
  }
  throw new TypeError(`not an EngineBlockHash: ${JSON.stringify(h)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bin';
  return typeof v;
}

function int(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v <= MAX_SAFE && v >= -MAX_SAFE) return Number(v);
  return fail(`${what} must be an integer, got ${describe(v)}`);
}

function optInt(v: unknown, what: string): number | null {
  return v === null || v === undefined ? null : int(v, what);
}

function optStr(v: unknown, what: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return fail(`${what} must be a string, got ${describe(v)}`);
}

function hashes(v: unknown, what: string): EngineBlockHash[] {
  if (!Array.isArray(v)) fail(`${what} must be an array, got ${describe(v)}`);
  return v.map(normaliseBlockHash);
}

function tokenIds(v: unknown): number[] {
  if (!Array.isArray(v)) fail(`token_ids must be an array, got ${describe(v)}`);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = int(v[i], 'token id');
  return out;
}

/** Field names in wire order (array form) after the tag, with map-form keys. */
const STORED_FIELDS = ['block_hashes', 'parent_block_hash', 'token_ids', 'block_size', 'lora_id', 'medium', 'lora_name', 'extra_keys', 'group_idx'] as const;
const REMOVED_FIELDS = ['block_hashes', 'medium', 'group_idx'] as const;

function fields<K extends string>(raw: unknown, names: readonly K[]): { type: string; get: (k: K) => unknown } {
  if (Array.isArray(raw)) {
    const tag: unknown = raw[0];
    if (typeof tag !== 'string') fail('event tag must be a string');
    return { type: tag, get: (k) => raw[1 + names.indexOf(k)] };
  }
  if (raw instanceof Map || raw === null || typeof raw !== 'object' || raw instanceof Uint8Array) fail(`event must be an array or a map, got ${describe(raw)}`);
  const obj = raw as Record<string, unknown>;
  const tag = obj['type'];
  if (typeof tag !== 'string') fail('event map without a string "type" tag');
  return { type: tag, get: (k) => (Object.hasOwn(obj, k) ? obj[k] : undefined) };
}

function tagOf(raw: unknown): string {
  if (Array.isArray(raw)) return typeof raw[0] === 'string' ? raw[0] : fail('event tag must be a string');
  if (raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array)) {
    const t = (raw as Record<string, unknown>)['type'];
    if (typeof t === 'string') return t;
  }
  return fail(`event must be a tagged array or map, got ${describe(raw)}`);
}

function decodeEvent(raw: unknown): KvEvent {
  const tag = tagOf(raw);
  if (tag === 'BlockStored') {
    const f = fields(raw, STORED_FIELDS);
    const blockHashes = f.get('block_hashes');
    if (blockHashes === undefined) fail('BlockStored without block_hashes');
    const parent = f.get('parent_block_hash');
    const blockSize = f.get('block_size');
    if (blockSize === undefined) fail('BlockStored without block_size');
    const tokens = f.get('token_ids');
    const group = optInt(f.get('group_idx'), 'group_idx');
    const ev: BlockStored = {
      type: 'BlockStored',
      blockHashes: hashes(blockHashes, 'block_hashes'),
      parentBlockHash: parent === null || parent === undefined ? null : normaliseBlockHash(parent),
      tokenIds: tokens === undefined ? [] : tokenIds(tokens),
      blockSize: int(blockSize, 'block_size'),
      loraId: optInt(f.get('lora_id'), 'lora_id'),
      medium: optStr(f.get('medium'), 'medium'),
      loraName: optStr(f.get('lora_name'), 'lora_name'),
      ...(group === null ? {} : { groupIdx: group }),
    };
    return ev;
  }
  if (tag === 'BlockRemoved') {
    const f = fields(raw, REMOVED_FIELDS);
    const blockHashes = f.get('block_hashes');
    if (blockHashes === undefined) fail('BlockRemoved without block_hashes');
    const group = optInt(f.get('group_idx'), 'group_idx');
    const ev: BlockRemoved = { type: 'BlockRemoved', blockHashes: hashes(blockHashes, 'block_hashes'), medium: optStr(f.get('medium'), 'medium'), ...(group === null ? {} : { groupIdx: group }) };
    return ev;
  }
  if (tag === 'AllBlocksCleared') return { type: 'AllBlocksCleared' };
  return fail(`unknown event type ${JSON.stringify(tag.slice(0, 64))}`);
}

export function decodeKvEventBatch(payload: Uint8Array): KvEventBatch {
  if (payload.length > KV_EVENT_LIMITS.maxPayloadBytes) fail(`payload of ${payload.length} bytes exceeds ${KV_EVENT_LIMITS.maxPayloadBytes}`);
  let raw: unknown;
  try {
    raw = decoder.decode(payload);
  } catch (err) {
    return fail(`invalid msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  let ts: unknown;
  let events: unknown;
  let rank: unknown;
  if (Array.isArray(raw)) [ts, events, rank] = raw as unknown[];
  else if (raw !== null && typeof raw === 'object' && !(raw instanceof Uint8Array)) {
    const obj = raw as Record<string, unknown>;
    ts = obj['ts'];
    events = obj['events'];
    rank = obj['data_parallel_rank'];
  } else fail(`batch must be an array or a map, got ${describe(raw)}`);
  if (typeof ts === 'bigint') ts = Number(ts);
  if (typeof ts !== 'number' || !Number.isFinite(ts)) fail('batch ts must be a number');
  if (!Array.isArray(events)) fail(`batch events must be an array, got ${describe(events)}`);
  return { ts, events: events.map(decodeEvent), dataParallelRank: optInt(rank, 'data_parallel_rank') };
}

/** Drops trailing entries equal to their default (null), as msgspec's omit_defaults does. */
function trimDefaults(a: unknown[], keep: number): unknown[] {
  let n = a.length;
  while (n > keep && (a[n - 1] === null || a[n - 1] === undefined)) n--;
  return a.slice(0, n);
}

function eventToWire(ev: KvEvent): unknown[] {
  switch (ev.type) {
    case 'BlockStored':
      return trimDefaults(
        [
          'BlockStored',
          ev.blockHashes.map(blockHashToWire),
          ev.parentBlockHash === null ? null : blockHashToWire(ev.parentBlockHash),
          ev.tokenIds,
          ev.blockSize,
          ev.loraId,
          ev.medium,
          ev.loraName,
          null,
          ev.groupIdx ?? null,
        ],
        7,
      );
    case 'BlockRemoved':
      return trimDefaults(['BlockRemoved', ev.blockHashes.map(blockHashToWire), ev.medium, ev.groupIdx ?? null], 3);
    case 'AllBlocksCleared':
      return ['AllBlocksCleared'];
  }
}

/** vLLM's positional form: `[ts, [events...], data_parallel_rank?]`. */
export function encodeKvEventBatch(batch: KvEventBatch): Uint8Array {
  const wire = trimDefaults([batch.ts, batch.events.map(eventToWire), batch.dataParallelRank], 2);
  return encoder.encode(wire);
}
