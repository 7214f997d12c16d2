/**
 * The pool's consistent-hash ring: which agent is the home (directory owner) of a prefix chain. A
 * pure function of the member list, so every agent holding the same Membership computes the same
 * homes. Each member places RING_VNODES points on a 32-bit circle; each of RING_SLOTS equal slots
 * belongs to the first point at or after the slot's start. A chain is homed by
 * hash(namespace ‖ first key) → slot → member: one hash and one array read, no allocation.
 * When a member leaves, only the slots its points owned move (about 1/N of them).
 *
 * The hash is FNV-1a (32-bit) finished with murmur3's fmix32 avalanche, written here: it is
 * allocation-free on the lookup path (node's sha256 allocates a Hash and a Buffer per call), byte-
 * for-byte the same on every platform, and the finaliser spreads FNV's weak low bits. Keys are
 * content hashes already; nothing here defends against chosen keys (a tenant can only crowd its
 * own chains onto one home).
 */
import { RING_SLOTS, RING_VNODES } from '../common/pool-ring.js';
import type { Membership, PoolMember } from './membership.js';
import { fmix32 } from '../common/fmix32.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SLOT_SHIFT = 32 - Math.log2(RING_SLOTS);


function fnvBytes(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h;
}

/** FNV over the UTF-8 encoding of `text`, without encoding it into a buffer. */
function fnvUtf8(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = 0xfffd; // a lone surrogate, as TextEncoder writes it
    }
    if (c < 0x80) h = Math.imul(h ^ c, FNV_PRIME);
    else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
    }
  }
  return h;
}

/** The ring's 32-bit hash of namespace ‖ firstKey (the key has a fixed length, so the join is unambiguous). */
export function chainHash(namespace: Uint8Array | string, firstKey: Uint8Array): number {
  const h = typeof namespace === 'string' ? fnvUtf8(FNV_OFFSET, namespace) : fnvBytes(FNV_OFFSET, namespace);
  return fmix32(fnvBytes(h, firstKey));
}

/** The ring's 32-bit position of a member's `i`-th virtual node. */
export function vnodeHash(node: string, i: number): number {
  return fmix32(fnvUtf8(FNV_OFFSET, `${node}\n${i}`));
}

export interface Ring {
  /** The membership version this ring was built from. */
  readonly version: number;
  readonly members: readonly PoolMember[];
  /** Member index per slot (-1 only when there are no members). */
  readonly slots: Int32Array;
  /** The home of the chain starting with `firstKey` in `namespace`; undefined with no members. */
  homeOf(namespace: Uint8Array | string, firstKey: Uint8Array): PoolMember | undefined;
  /** The slot a chain falls in (for metrics and tests). */
  slotOf(namespace: Uint8Array | string, firstKey: Uint8Array): number;
}

/** Builds the ring of `members` (any order: the result depends only on the set of node names). */
export function buildRing(members: readonly PoolMember[], version = 0): Ring {
  const sorted = [...members].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const slots = new Int32Array(RING_SLOTS).fill(-1);
  if (sorted.length > 0) {
    const n = sorted.length * RING_VNODES;
    const points = new Float64Array(n);
    // A point is (position, member index) packed into one double: sorting numbers sorts by
    // position, and ties (equal positions) break by member index, so the result never depends on
    // the input order.
    for (let m = 0; m < sorted.length; m++) {
      for (let v = 0; v < RING_VNODES; v++) points[m * RING_VNODES + v] = vnodeHash(sorted[m]!.node, v) * 8192 + m;
    }
    points.sort();
    let p = 0;
    for (let s = 0; s < RING_SLOTS; s++) {
      const start = s * 2 ** SLOT_SHIFT * 8192;
      while (p < n && points[p]! < start) p++;
      // Past the last point the circle wraps to the first.
      slots[s] = (p < n ? points[p]! : points[0]!) % 8192;
    }
  }
  return {
    version,
    members: sorted,
    slots,
    slotOf: (namespace, firstKey) => chainHash(namespace, firstKey) >>> SLOT_SHIFT,
    homeOf(namespace, firstKey) {
      const m = slots[chainHash(namespace, firstKey) >>> SLOT_SHIFT]!;
      return m < 0 ? undefined : sorted[m];
    },
  };
}

/**
 * The ring of a membership, built once per version: readers call this on every lookup and get the
 * cached ring until the version (or the membership object) changes.
 */
export function createRingCache(): (m: Membership) => Ring {
  let last: Membership | undefined;
  let ring: Ring | undefined;
  return (m) => {
    if (ring === undefined || last !== m) {
      if (ring === undefined || last === undefined || last.version !== m.version || last.members !== m.members) ring = buildRing(m.members, m.version);
      last = m;
    }
    return ring;
  };
}
