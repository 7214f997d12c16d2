/**
 * Bearer-token checks for agent routes: constant time in the token's content, because both sides
 * are hashed to 32 bytes before timingSafeEqual (which needs equal lengths).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The SHA-256 of a token, what bearerMatches compares against. */
export function bearerDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** True when `header` is `Bearer <token>` for the token whose digest is `expected`. */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return timingSafeEqual(bearerDigest(m?.[1] ?? ''), expected) && m !== null;
}
