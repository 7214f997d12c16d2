/**
 * The peer handshake's proofs. Both sides hold the pair key the coordinator derived for exactly this
 * pair of agents (Membership.pairKeys); each proves it by an HMAC over both nonces, both node names
 * and the pool, with a different role label per direction so one side's proof is never the other's.
 * The key never crosses the wire, and a recorded proof is useless on a new connection (fresh nonces).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from './peer-protocol.js';

export interface HandshakeContext {
  /** The connecting agent's node name. */
  readonly client: string;
  /** The listening agent's node name. */
  readonly server: string;
  readonly pool: string;
  readonly nonceC: Buffer;
  readonly nonceS: Buffer;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** HMAC-SHA256(pairKey, "brixlet peer v1 <role>\n" client "\n" server "\n" pool "\n" nonceC nonceS). */
export function handshakeProof(pairKey: Buffer, role: 'client' | 'server', ctx: HandshakeContext): Buffer {
  const h = createHmac('sha256', pairKey);
  h.update(`brixlet peer v1 ${role}\n${ctx.client}\n${ctx.server}\n${ctx.pool}\n`, 'utf8');
  h.update(ctx.nonceC);
  h.update(ctx.nonceS);
  return h.digest();
}

export function proofMatches(expected: Buffer, got: Buffer): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}
