/**
 * Where the Kubernetes client configuration comes from: an explicit kubeconfig (file or text),
 * the in-cluster service account, or the client's defaults ($KUBECONFIG, ~/.kube/config, then
 * in-cluster). Paths and the environment are injectable so tests need no real cluster or /var/run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from './kube-error.js';

export const DEFAULT_SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigSource {
  /** Path of a kubeconfig file. */
  readonly kubeconfig?: string;
  /** Kubeconfig content (YAML or JSON), e.g. from a fake API server. */
  readonly kubeconfigText?: string;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST/PORT and serviceAccountDir). */
  readonly inCluster?: boolean;
  readonly serviceAccountDir?: string;
  /** Home directory holding .kube/config when nothing else is given (default: $HOME, else os.homedir()). */
  readonly home?: string;
  /** Context to use instead of the kubeconfig's current-context. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The namespace calls default to: the context's, the service account's, or `default`. */
  readonly namespace: string;
  /** Where the configuration came from, for logs and error messages. */
  readonly source: string;
}

function configError(source: string, reason: string, cause?: unknown): KubeError {
  return new KubeError('BRX_ERR_KUBE_CONFIG', `cannot load Kubernetes client configuration from ${source}: ${reason}`, { cause });
}

function loadInCluster(kc: KubeConfig, dir: string, env: NodeJS.ProcessEnv): LoadedKubeConfig {
  const source = `service account ${dir}`;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw configError(source, 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)');
  for (const file of ['token', 'ca.crt']) {
    if (!existsSync(join(dir, file))) throw configError(source, `${join(dir, file)} does not exist`);
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Same cluster/user shape as KubeConfig.loadFromCluster, whose paths and env cannot be injected.
  // The tokenFile provider re-reads the token, so projected (rotating) tokens keep working.
  kc.loadFromClusterAndUser(
    { name: 'inCluster', server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false },
    { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } },
  );
  const nsFile = join(dir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : '';
  return { kubeConfig: kc, namespace: namespace || 'default', source };
}

/** Loads into `kc` (a fresh KubeConfig unless given, e.g. the client's KeepAliveKubeConfig). */
export function loadKubeConfig(opts: KubeConfigSource = {}, kc: KubeConfig = new KubeConfig()): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  if (opts.inCluster) return loadInCluster(kc, opts.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR, env);
  let source = 'kubeconfig text';
  try {
    if (opts.kubeconfigText !== undefined) {
      source = 'kubeconfig text';
      kc.loadFromString(opts.kubeconfigText);
    } else if (opts.kubeconfig !== undefined) {
      source = opts.kubeconfig;
      kc.loadFromFile(opts.kubeconfig);
    } else if (env.KUBECONFIG) {
      source = env.KUBECONFIG;
      kc.loadFromFile(env.KUBECONFIG.split(':')[0] ?? env.KUBECONFIG);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      return loadInCluster(kc, opts.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR, env);
    } else {
      // Not the client's loadFromDefault: with no file it silently points at http://localhost:8080,
      // and the first call then fails as an API error that hides the missing configuration.
      source = join(opts.home ?? env.HOME ?? homedir(), '.kube', 'config');
      if (!existsSync(source)) {
        throw configError(
          'the default locations',
          `no kubeconfig found: KUBECONFIG is not set, ${source} does not exist, and this is not a pod (KUBERNETES_SERVICE_HOST is not set)`,
        );
      }
      kc.loadFromFile(source);
    }
  } catch (err) {
    if (err instanceof KubeError) throw err;
    throw configError(source, (err as Error).message, err);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw configError(source, `context "${opts.context}" is not defined`);
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw configError(source, 'no current cluster (set current-context or pass a context)');
  return { kubeConfig: kc, namespace: kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default', source };
}
