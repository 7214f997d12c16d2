/**
 * Keys for the agents' peer handshake. One secret per coordinator, one key per pair of nodes:
 *
 *   peerSecret   = HMAC-SHA256(key = cluster secret, msg = "brixlet peer secret v1")  (token mode)
 *                  or 32 random bytes made at coordinator start (kubernetes mode, no secret)
 *   pairKey(A,B) = HMAC-SHA256(key = peerSecret, msg = "brixlet peer key v1\n" + min(A,B) + "\n" + max(A,B))
 *
 * Names compare as JavaScript strings (UTF-16 code units; node names are ASCII). A pair key is
 * known to the coordinator and to the two agents only; one agent's keys say nothing about another
 * pair's. Derived in token mode so that keys survive a coordinator restart; random otherwise.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_CONTEXT = 'brixlet peer secret v1';
const PAIR_CONTEXT = 'brixlet peer key v1\n';

/** The peer secret of a coordinator whose cluster secret is `secret` (its text, as for node tokens). */
export function derivePeerSecret(secret: string): Buffer {
  return createHmac('sha256', secret).update(SECRET_CONTEXT, 'utf8').digest();
}

/** A peer secret for a coordinator without a cluster secret (kubernetes mode, an open coordinator). */
export function randomPeerSecret(): Buffer {
  return randomBytes(32);
}

/** The 32-byte key nodes `a` and `b` share (symmetric in a, b). */
export function derivePairKey(peerSecret: Buffer, a: string, b: string): Buffer {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  return createHmac('sha256', peerSecret).update(`${PAIR_CONTEXT}${lo}\n${hi}`, 'utf8').digest();
}
