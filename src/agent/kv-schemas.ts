/**
 * TypeBox schema of GET /v1/kvcache: the node KV shard summary (src/kvcache/types.ts KvSummary).
 * The compile-time check at the bottom fails the build when the two drift; fastify's serializer
 * would otherwise silently drop a field the schema leaves out.
 */
import { type Static, Type } from '@sinclair/typebox';
import { POLICY_NAMES } from '../kvcache/eviction/types.js';
import type { KvNamespaceSummary, KvSummary } from '../kvcache/types.js';

const Bytes = (description: string) => Type.Integer({ minimum: 0, description });
const Count = (description: string) => Type.Integer({ minimum: 0, description });
const Ratio = (description: string) => Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description });
const Policy = Type.Union(POLICY_NAMES.map((p) => Type.Literal(p)));

export const KvNamespaceView = Type.Object({
  name: Type.String(),
  blockSize: Bytes('Largest block of the namespace, fixed by its first HELLO.'),
  layout: Type.String({ description: 'Layout signature given at the first HELLO.' }),
  entries: Count('Blocks held (sealed and being written).'),
  bytes: Bytes('Slot bytes held (sealed + writing).'),
  quotaBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: '--kv.quotas limit; null = none.' }),
  connections: Count('Engine connections bound to the namespace.'),
  lookups: Count('LOOKUP and EXISTS requests.'),
  hitBlocks: Count('Blocks found by lookups.'),
  requestedBlocks: Count('Blocks asked for by lookups.'),
  hitRatio: Ratio('hitBlocks / requestedBlocks; null before the first lookup.'),
});

export const KvSummaryView = Type.Object({
  enabled: Type.Literal(true),
  pool: Type.String({ description: 'Pool name: default for the --kv.* pool, else a --kv.pools name.' }),
  socket: Type.String({ description: 'Unix socket engines connect to (docs/kv-protocol.md).' }),
  dir: Type.String({ description: 'tmpfs directory of the slab files.' }),
  generation: Type.String({ description: '8 hex digits naming this agent start\'s slab files.' }),
  slabs: Type.Object({
    count: Count('Slab files.'),
    size: Bytes('Bytes per slab file.'),
    files: Type.Array(Type.String(), { description: 'Slab paths in index order (as HELLO lists them).' }),
  }),
  pageSize: Bytes('Allocation page; the largest block size a namespace may use.'),
  capacityBytes: Bytes('Total slab bytes.'),
  usedBytes: Bytes('Slot bytes in use (sealed + writing).'),
  bytesByState: Type.Object({ free: Bytes('Free slot bytes.'), writing: Bytes('Bytes under write leases.'), sealed: Bytes('Bytes of cached blocks.') }),
  entries: Count('Blocks in the index.'),
  maxEntries: Count('Index capacity in blocks.'),
  policy: Policy,
  evictions: Type.Object(
    { small: Type.Optional(Type.Integer({ minimum: 0 })), main: Type.Optional(Type.Integer({ minimum: 0 })), lru: Type.Optional(Type.Integer({ minimum: 0 })), fifo: Type.Optional(Type.Integer({ minimum: 0 })) },
    { description: 'Evicted blocks by the queue they left.' },
  ),
  ghostHits: Count('S3-FIFO inserts that hit a ghost (admitted straight into the main queue).'),
  leases: Type.Object({ read: Count('Read leases held.'), write: Count('Write leases held.') }),
  connections: Count('Engine connections.'),
  lookups: Count('LOOKUP and EXISTS requests.'),
  hitBlocks: Count('Blocks found by lookups.'),
  requestedBlocks: Count('Blocks asked for by lookups.'),
  hitRatio: Ratio('hitBlocks / requestedBlocks over the shard lifetime; null before the first lookup.'),
  namespaces: Type.Array(KvNamespaceView),
  remote: Type.Object(
    {
      reads: Count('Engines\' remote reads that asked the pool\'s directory (LOOKUP_REMOTE past the local hit).'),
      hitBlocks: Count('Blocks those reads fetched from other agents and sealed here (remote hits).'),
      hitBytes: Bytes('Bytes of those blocks.'),
      budgetExpired: Count('Remote reads whose budget ran out before every block arrived.'),
      servedBlocks: Count('Blocks this agent sent to other agents\' remote reads (peer MGET).'),
      servedBytes: Bytes('Bytes of those blocks.'),
    },
    { description: 'Blocks fetched from, and served to, other agents of the pool since the agent started.' },
  ),
});

/** GET /v1/kvcache: the default pool's summary at the top level (the shape before pools), plus every pool. */
export const KvcacheView = Type.Object({
  ...KvSummaryView.properties,
  redacted: Type.Boolean({ description: 'True when namespace names and layouts are blank and slab paths left out: the caller sent no valid --agent.api-token-file token.' }),
  pools: Type.Array(KvSummaryView, { description: 'Every pool, the default one first.' }),
});

// Compile-time drift checks: each side must accept the other (readonly arrays aside).
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
const drift: [Same<Static<typeof KvSummaryView>, Mutable<KvSummary>>, Same<Static<typeof KvNamespaceView>, Mutable<KvNamespaceSummary>>] = [true, true];
void drift;
