/**
 * Per-node report tokens, derived from the cluster secret (control.tokenFile) so that the
 * coordinator stores nothing per node and one node's token says nothing about another's:
 *
 *   token = "brxn1." + base64url( HMAC-SHA256( key = secret, msg = "brixlet node token v1\n" + nodeName ) )
 *
 * `secret` is the secret file's content with surrounding white space removed, as UTF-8 bytes;
 * base64url has no padding. The version in the prefix and the message lets the scheme change
 * without a token of one scheme ever matching the other.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const NODE_TOKEN_PREFIX = 'brxn1.';
const CONTEXT = 'brixlet node token v1\n';

/** The bearer token node `nodeName` reports with, under cluster secret `secret`. */
export function deriveNodeToken(secret: string, nodeName: string): string {
  return NODE_TOKEN_PREFIX + createHmac('sha256', secret).update(CONTEXT + nodeName, 'utf8').digest('base64url');
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Equal strings, compared in time independent of where they differ (both hashed to 32 bytes first). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}
