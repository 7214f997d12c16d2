/**
 * What the policies share beyond the contract in types.ts: validation, the scan budget, and how a
 * candidate that canEvict() refuses (leased, or the parent of cached blocks) is handled.
 *
 * Refused candidates are deferred once: the first refusal marks the entry and leaves it in place, and
 * the scan goes on. Blocks are sealed root to leaf, so a chain's root is its oldest block, yet its
 * leaf must go first; deferring lets the chain leave leaf first at the root's age. An entry refused a
 * second time has children (or leases) that outlive it, and is treated as recently used (moved to the
 * head of its queue). Moving every refused entry to the head at once instead would refresh each block
 * of a dead chain as its turn comes, keeping it L times too long: on the Mooncake conversation trace
 * that made LRU lose 7 points of prefix-hit ratio at 10 % capacity.
 */
import { BrixletError } from '../../common/errors.js';

export const DEFAULT_MAX_SCAN = 1024;

/** Share of the scan budget a first refusal costs: a deferred chain of up to 8 × maxScan blocks fits. */
export const MARK_COST = 1 / 8;

/** Bit of a policy's per-entry state byte: refused once by canEvict since it last moved. */
export const REFUSED = 0b1000;

/** Throws BRX_ERR_KV_CONFIG unless `capacity` is a usable entry count. */
export function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x7fff_ffff) {
    throw new BrixletError('BRX_ERR_KV_CONFIG', { reason: `eviction policy capacity must be an integer from 1 to 2^31-1, got ${capacity}` });
  }
}

/** Throws BRX_ERR_KV_CONFIG unless `share` lies in (0, 1), or in [0, 1] when `closed` (`what` names it). */
export function checkShare(what: string, share: number, closed = false): void {
  if (!(closed ? share >= 0 && share <= 1 : share > 0 && share < 1)) {
    throw new BrixletError('BRX_ERR_KV_CONFIG', { reason: `${what} must be between 0 and 1 (${closed ? 'inclusive' : 'exclusive'}), got ${share}` });
  }
}
