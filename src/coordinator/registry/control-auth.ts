/**
 * Who may write on the control API. Reads stay open (reports hold no secrets). Writes:
 * - the cluster secret (control.tokenFile) is the admin credential: any report, DELETE;
 * - a node token (deriveNodeToken(secret, NAME)) may PUT only /v1/nodes/NAME;
 * - with control.auth kubernetes, an agent ServiceAccount token may PUT only the report of the
 *   node its pod runs on (kube-node-auth.ts).
 * Reading a node's KV pair keys (GET /v1/ring?node=NAME) takes the same credentials as reporting NAME.
 * A coordinator with neither is open (allowed only on loopback or with --control.insecure).
 * Refusals: 401 (no or unknown credentials), 403 (known credentials, not for this write).
 */
import { BrixletError } from '../../common/errors.js';
import type { KubeNodeAuth } from './kube-node-auth.js';
import { deriveNodeToken, NODE_TOKEN_PREFIX, sameSecret } from './node-token.js';

/**
 * pair-keys: reading a node's KV pair keys (GET /v1/ring?node=NAME), allowed to whoever may report NAME;
 * admin: a write that is no node's (the optimizer's profiles), allowed to the cluster secret only.
 */
export type ControlWrite = 'report' | 'delete' | 'pair-keys' | 'admin';

export interface ControlAuth {
  /** false = no credentials configured: every write is taken. */
  readonly enabled: boolean;
  /** Resolves when `authorization` may do `write` on node `name`; rejects with a 401/403/503 BrixletError. */
  check(authorization: string | undefined, write: ControlWrite, name: string): Promise<void>;
}

export interface ControlAuthOptions {
  /** The cluster secret. */
  readonly secret?: string;
  /** ServiceAccount tokens (control.auth kubernetes). */
  readonly kube?: KubeNodeAuth;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];
}

export function createControlAuth(opts: ControlAuthOptions): ControlAuth {
  const { secret, kube } = opts;
  const unauthorized = (): BrixletError => new BrixletError('BRX_ERR_REGISTRY_UNAUTHORIZED');
  const forbidden = (reason: string): BrixletError => new BrixletError('BRX_ERR_REGISTRY_FORBIDDEN', { reason });
  return {
    enabled: secret !== undefined || kube !== undefined,
    async check(authorization, write, name) {
      if (secret === undefined && kube === undefined) return;
      const token = bearerToken(authorization);
      if (token === undefined) throw unauthorized();
      if (secret !== undefined) {
        if (sameSecret(token, secret)) return;
        // Only this node's own token can match: another node's token is as unknown as a guess.
        if (sameSecret(token, deriveNodeToken(secret, name))) {
          if (write === 'admin') throw forbidden(`a node token may report its own node only; ${name} needs the cluster secret`);
          if (write !== 'delete') return;
          throw forbidden(`a node token may report its own node only; deleting node ${name} needs the cluster secret`);
        }
      }
      if (kube === undefined || token.startsWith(NODE_TOKEN_PREFIX)) throw unauthorized();
      const who = await kube.nodeOf(token);
      if (write === 'admin') throw forbidden(`${who.user} may report its own node only; ${name} needs the cluster secret`);
      if (write === 'delete') throw forbidden(`${who.user} may report its own node only; deleting node ${name} needs the cluster secret`);
      if (who.node !== name) throw forbidden(`${who.user} runs on node ${who.node}, so it may not ${write === 'report' ? 'report' : 'read the pair keys of'} node ${name}`);
    },
  };
}
