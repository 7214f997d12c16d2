/**
 * Asking the API server who a bearer token belongs to (TokenReview, authentication.k8s.io/v1) and
 * on which node a pod runs: what a server needs to accept Kubernetes ServiceAccount tokens as
 * credentials, the way the kubelet does. Needs RBAC: create tokenreviews, get pods.
 */
import { AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { toKubeError } from './kube-error.js';

export interface TokenReviewResult {
  readonly authenticated: boolean;
  readonly username?: string;
  readonly uid?: string;
  /** e.g. authentication.kubernetes.io/pod-name, …/pod-uid, …/node-name (pod-bound tokens). */
  readonly extra: Readonly<Record<string, readonly string[]>>;
  /** The requested audiences the token is valid for. */
  readonly audiences: readonly string[];
  /** Why the API server did not authenticate the token. */
  readonly error?: string;
}

export interface TokenReviewer {
  /**
   * The API server's verdict on `token`, valid for one of `audiences` (default: the API server's
   * own); BRX_ERR_KUBE_* when it cannot be asked.
   */
  review(token: string, audiences?: readonly string[]): Promise<TokenReviewResult>;
  /** spec.nodeName and metadata.uid of a pod; BRX_ERR_KUBE_NOT_FOUND when it is gone. */
  pod(namespace: string, name: string): Promise<{ nodeName?: string; uid?: string }>;
}

export function createTokenReviewer(kube: KubeClient): TokenReviewer {
  const auth = kube.kubeConfig.makeApiClient(AuthenticationV1Api);
  const core = kube.kubeConfig.makeApiClient(CoreV1Api);
  return {
    async review(token, audiences) {
      try {
        const spec = { token, ...(audiences !== undefined && audiences.length > 0 && { audiences: [...audiences] }) };
        const res = await auth.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec } });
        const s = res.status ?? {};
        return {
          authenticated: s.authenticated === true,
          ...(s.user?.username !== undefined && { username: s.user.username }),
          ...(s.user?.uid !== undefined && { uid: s.user.uid }),
          extra: s.user?.extra ?? {},
          audiences: s.audiences ?? [],
          ...(s.error !== undefined && s.error !== '' && { error: s.error }),
        };
      } catch (err) {
        throw toKubeError(err, 'create tokenreviews.authentication.k8s.io');
      }
    },
    async pod(namespace, name) {
      try {
        const p = await core.readNamespacedPod({ namespace, name });
        return { ...(p.spec?.nodeName !== undefined && { nodeName: p.spec.nodeName }), ...(p.metadata?.uid !== undefined && { uid: p.metadata.uid }) };
      } catch (err) {
        throw toKubeError(err, `get pods ${namespace}/${name}`);
      }
    },
  };
}
