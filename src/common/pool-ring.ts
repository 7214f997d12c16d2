/**
 * The KV pool's published ring (GET /v1/ring on the coordinator's control port), shared by the
 * coordinator that serves it and the agents that follow it. The coordinator publishes who is in
 * the pool; every agent builds the same consistent-hash ring from it (src/kvcache/ring.ts) with the
 * parameters below, so homes agree without the coordinator computing or shipping slot tables.
 */
import { type Static, Type } from '@sinclair/typebox';

/** Fixed slot count: a chain's home is looked up in a 4096-entry table, never a search. */
export const RING_SLOTS = 4096;
/**
 * Virtual nodes per member: 128 keep each member's share of the slots within about ±25 % of fair
 * for up to a few dozen members (spread ~1/√128 ≈ 9 %), while building a ring stays far under a
 * millisecond for hundreds of members.
 */
export const RING_VNODES = 128;
/** Most members the coordinator publishes and an agent accepts. */
export const MAX_RING_MEMBERS = 4096;
/** Bytes of one pair key. */
export const PAIR_KEY_BYTES = 32;

export const RingMember = Type.Object(
  {
    node: Type.String({ minLength: 1, maxLength: 253 }),
    peerAddress: Type.String({ minLength: 1, maxLength: 512, description: 'host:port of the agent\'s peer listener (--kv.peer-port).' }),
  },
  { additionalProperties: false },
);
export type RingMember = Static<typeof RingMember>;

export const RingView = Type.Object(
  {
    version: Type.Integer({ minimum: 0, description: 'Increases whenever the member set or an address changes; agents refetch when their report reply carries another ringVersion.' }),
    slots: Type.Integer({ minimum: 1, maximum: 1 << 20 }),
    vnodes: Type.Integer({ minimum: 1, maximum: 4096 }),
    members: Type.Array(RingMember, { maxItems: MAX_RING_MEMBERS, description: 'Ready nodes that report a KV peer address, sorted by node name.' }),
    pairKeys: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 253 }), Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$' }), {
        maxProperties: MAX_RING_MEMBERS,
        description: 'Only for an agent calling with its own credentials: the base64url key it shares with each other member (32 bytes), by node name.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RingView = Static<typeof RingView>;
