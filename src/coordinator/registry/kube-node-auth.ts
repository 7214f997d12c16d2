/**
 * `--control.auth kubernetes`: an agent proves its node with its pod's ServiceAccount token. The
 * coordinator asks the API server (TokenReview) who the token is, requires one of the allowed
 * ServiceAccounts, and takes the node from the token's pod binding: the node-name extra of
 * pod-bound tokens (Kubernetes 1.30+), else the bound pod's spec.nodeName (pod-name extra, GET
 * pod, uid checked). Positive answers are cached briefly (bounded), so heartbeats cost no API
 * calls; concurrent reviews are bounded, so a flood of bad tokens cannot flood the API server.
 * Loaded lazily: it pulls in the Kubernetes client.
 */
import { createHash } from 'node:crypto';
import { BrixletError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { createTokenReviewer, type TokenReviewer, type TokenReviewResult } from '../../kube/token-review.js';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
const SA_PREFIX = 'system:serviceaccount:';

export interface KubeNodeAuthOptions {
  /** NAME (in `namespace`) or NAMESPACE:NAME entries (control.serviceAccounts). */
  readonly serviceAccounts: readonly string[];
  /** The coordinator's namespace, for entries without one. */
  readonly namespace: string;
  /**
   * The audience agent tokens must be issued for (control.tokenAudience), e.g. `brixlet`: then a
   * token the coordinator sees cannot be used against the API server. Empty = the API server's own.
   */
  readonly audience?: string;
  readonly cacheTtlMs?: number;
  readonly cacheSize?: number;
  /** Reviews in flight at once; past it a report gets 503 and its agent retries. */
  readonly maxInFlight?: number;
  readonly now?: () => number;
  readonly log?: Logger;
}

/** Which node a token may report; throws 401/403 (BRX_ERR_REGISTRY_*) or 503 when the API cannot be asked. */
export interface KubeNodeAuth {
  nodeOf(token: string): Promise<{ node: string; user: string }>;
}

interface Cached {
  readonly node: string;
  readonly user: string;
  readonly until: number;
}

export const DEFAULT_REVIEW_CACHE_MS = 60_000;

export function createKubeNodeAuth(kube: KubeClient | TokenReviewer, opts: KubeNodeAuthOptions): KubeNodeAuth {
  const reviewer = 'review' in kube ? kube : createTokenReviewer(kube);
  const allowed = new Set(opts.serviceAccounts.map((sa) => `${SA_PREFIX}${sa.includes(':') ? sa : `${opts.namespace}:${sa}`}`));
  const ttl = opts.cacheTtlMs ?? DEFAULT_REVIEW_CACHE_MS;
  const size = opts.cacheSize ?? 1024;
  const maxInFlight = opts.maxInFlight ?? 16;
  const now = opts.now ?? Date.now;
  const audiences = opts.audience === undefined || opts.audience === '' ? undefined : [opts.audience];
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<Cached>>();

  const forbidden = (reason: string): BrixletError => new BrixletError('BRX_ERR_REGISTRY_FORBIDDEN', { reason });
  const unavailable = (err: unknown): BrixletError =>
    new BrixletError('BRX_ERR_REGISTRY_AUTH_UNAVAILABLE', { reason: err instanceof Error ? err.message : String(err) }, { cause: err });

  async function resolve(token: string): Promise<Cached> {
    let r: TokenReviewResult;
    try {
      r = await reviewer.review(token, audiences);
    } catch (err) {
      throw unavailable(err);
    }
    if (!r.authenticated || r.username === undefined || (audiences !== undefined && !r.audiences.some((a) => audiences.includes(a)))) {
      opts.log?.debug({ error: r.error }, 'a report token was not authenticated by the API server');
      throw new BrixletError('BRX_ERR_REGISTRY_UNAUTHORIZED');
    }
    const user = r.username;
    if (!allowed.has(user)) throw forbidden(`${user} is not an agent ServiceAccount (--control.service-accounts: ${opts.serviceAccounts.join(',')})`);
    const node = r.extra[NODE_NAME_EXTRA]?.[0] ?? (await boundPodNode(user, r));
    return { node, user, until: now() + ttl };
  }

  async function boundPodNode(user: string, r: TokenReviewResult): Promise<string> {
    const pod = r.extra[POD_NAME_EXTRA]?.[0];
    if (pod === undefined) throw forbidden(`the token of ${user} is not bound to a pod, so it names no node (use a projected ServiceAccount token, the default since Kubernetes 1.22)`);
    const namespace = user.slice(SA_PREFIX.length).split(':')[0] as string;
    let found: { nodeName?: string; uid?: string };
    try {
      found = await reviewer.pod(namespace, pod);
    } catch (err) {
      if ((err as { code?: string }).code === 'BRX_ERR_KUBE_NOT_FOUND') throw forbidden(`the pod ${namespace}/${pod} the token is bound to no longer exists`);
      throw unavailable(err);
    }
    const uid = r.extra[POD_UID_EXTRA]?.[0];
    if (uid !== undefined && found.uid !== uid) throw forbidden(`the pod ${namespace}/${pod} the token is bound to was replaced`);
    if (found.nodeName === undefined || found.nodeName === '') throw forbidden(`the pod ${namespace}/${pod} is not scheduled on a node`);
    return found.nodeName;
  }

  return {
    async nodeOf(token) {
      const key = createHash('sha256').update(token, 'utf8').digest('base64url');
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now()) return { node: hit.node, user: hit.user };
      if (hit !== undefined) cache.delete(key);
      let pending = inFlight.get(key);
      if (pending === undefined) {
        if (inFlight.size >= maxInFlight) throw unavailable(new Error(`${inFlight.size} token reviews are in flight already`));
        pending = resolve(token).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const got = await pending;
      if (!cache.has(key)) {
        if (cache.size >= size) cache.delete(cache.keys().next().value as string);
        cache.set(key, got);
      }
      return { node: got.node, user: got.user };
    },
  };
}
