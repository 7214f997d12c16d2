/**
 * An in-process fake Kubernetes API server for tests: HTTPS with a fresh self-signed certificate,
 * bearer-token auth, and generic REST + watch over the resources a test registers. The real
 * @kubernetes/client-node works against it unchanged, from a kubeconfig or from a fake
 * service-account directory (`loadFromCluster`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CelEngine } from './cel-rules.js';
import { createCustomResourceValidator } from './crd-validation.js';
import { attachCrdController, CRD_DEFINITION, CRD_ID, installCrd, uninstallCrd, validateCrdWrite } from './crds.js';
import { handleRequest, type HandlerContext, type InjectedFailure, type RecordedRequest, type ReviewedUser } from './request-handler.js';
import { ResourceStore, type ResourceDefinition, type StoredObject } from './resource-store.js';
import { createSelfSignedCert } from './self-signed-cert.js';
import type { WatchRegistry } from './watch-stream.js';

/** Where in-cluster clients look for the service-account files, below a path prefix. */
export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface FakeApiServerOptions {
  readonly resources?: readonly ResourceDefinition[];
  /** Bearer token clients must send; default `fake-token`. */
  readonly token?: string;
  /** Namespace written to the kubeconfig context and the service-account dir; default `default`. */
  readonly namespace?: string;
  readonly host?: string;
  readonly port?: number;
  /** Watch events kept for replay; older resourceVersions get 410. Default 1000. */
  readonly historyLimit?: number;
  /** How a too-old watch is refused: an ERROR event in a 200 stream (the real server) or a 410 response. */
  readonly expiredWatch?: 'event' | 'http';
  /**
   * Validate custom resources of installed CRDs on every API write (create, update, patch, status,
   * scale) against the served version's schema, answering 422 Invalid with a cause per field.
   * Default false: schemas are stored, never enforced.
   */
  readonly validateCustomResources?: boolean;
  /** With validateCustomResources, also evaluate the CRDs' x-kubernetes-validations rules with this CEL engine. */
  readonly cel?: CelEngine;
}

export interface FakeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** PEM of the server certificate, which is also its CA. */
  readonly ca: string;
  readonly token: string;
  readonly namespace: string;
  /** Direct access to the stored objects; writes here reach watchers like API writes do. */
  readonly store: ResourceStore;
  /** Every request seen, oldest first (bounded). */
  readonly requests: RecordedRequest[];
  /** A kubeconfig (JSON, which is valid YAML) for `KubeConfig.loadFromString`. */
  kubeconfig(): string;
  /**
   * A directory holding `token`, `ca.crt` and `namespace`. It ends in SERVICE_ACCOUNT_PATH, so
   * `kc.loadFromCluster(dir.slice(0, -SERVICE_ACCOUNT_PATH.length))` works with inClusterEnv() set.
   */
  serviceAccountDir(): string;
  /** `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` pointing at this server. */
  inClusterEnv(): { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
  /** A TokenReview of `token` answers authenticated as `user` (until removed); other tokens are not authenticated. */
  addTokenReview(token: string, user: ReviewedUser): void;
  removeTokenReview(token: string): void;
  /** Makes the next matching request(s) fail with a Status of the given code. */
  failNext(failure: InjectedFailure): void;
  /** Ends every open watch: cleanly (the client sees the stream close) or abruptly (socket destroyed). */
  dropWatches(how?: 'end' | 'destroy'): number;
  /**
   * Stores a CRD (an object, or YAML text such as a file from a chart's crds/ folder) as
   * Established and makes its kind servable at once: its storage version is routed, listed in
   * discovery, with the status/scale subresources it declares. Replaces a CRD of the same name.
   */
  installCrd(crd: StoredObject | string): StoredObject;
  /** Deletes a CRD with all its objects; its URLs answer 404 afterwards. False when it was not installed. */
  uninstallCrd(name: string): boolean;
  /** Open watch connections right now. */
  readonly openWatches: number;
  /** TLS connections accepted so far (a client that keeps connections alive opens few). */
  readonly tlsConnections: number;
  /** TLS connections open right now (watches included). */
  readonly openConnections: number;
  close(): Promise<void>;
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const token = options.token ?? 'fake-token';
  const namespace = options.namespace ?? 'default';
  const host = options.host ?? '127.0.0.1';
  const { cert, key } = createSelfSignedCert({ hosts: ['localhost', '127.0.0.1', '::1', ...(options.host ? [options.host] : [])] });
  const store = new ResourceStore([CRD_DEFINITION, ...(options.resources ?? [])], options.historyLimit);
  store.setValidator(CRD_ID, validateCrdWrite);
  const detachCrds = attachCrdController(store);
  const watches: WatchRegistry = new Set();
  const ctx: HandlerContext = {
    store,
    reviews: new Map(),
    token,
    watches,
    failures: [],
    requests: [],
    expiredWatch: options.expiredWatch ?? 'event',
    ...(options.validateCustomResources ? { validate: createCustomResourceValidator(store, options.cel) } : {}),
  };
  const server: Server = createServer({ cert, key }, (req, res) => void handleRequest(ctx, req, res));
  let tlsConnections = 0;
  const open = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    tlsConnections++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let saRoot: string | undefined;

  const dropWatches = (how: 'end' | 'destroy' = 'end'): number => {
    const open = [...watches];
    for (const res of open) {
      if (how === 'destroy') res.socket?.destroy();
      else res.end();
    }
    watches.clear();
    return open.length;
  };

  return {
    url,
    host,
    port,
    ca: cert,
    token,
    namespace,
    store,
    requests: ctx.requests,
    get openWatches() {
      return watches.size;
    },
    get tlsConnections() {
      return tlsConnections;
    },
    get openConnections() {
      return open.size;
    },
    kubeconfig: () =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(cert).toString('base64') } }],
        users: [{ name: 'fake', user: { token } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
        'current-context': 'fake',
      }),
    serviceAccountDir: () => {
      saRoot ??= mkdtempSync(join(tmpdir(), 'brixlet-fake-sa-'));
      const dir = join(saRoot, SERVICE_ACCOUNT_PATH);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'token'), token);
      writeFileSync(join(dir, 'ca.crt'), cert);
      writeFileSync(join(dir, 'namespace'), namespace);
      return dir;
    },
    inClusterEnv: () => ({ KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: String(port) }),
    addTokenReview: (t, user) => void ctx.reviews.set(t, user),
    removeTokenReview: (t) => void ctx.reviews.delete(t),
    failNext: (failure) => void ctx.failures.push({ ...failure }),
    dropWatches,
    installCrd: (crd) => installCrd(store, typeof crd === 'string' ? crdFromYaml(crd) : crd),
    uninstallCrd: (name) => uninstallCrd(store, name),
    close: async () => {
      detachCrds();
      dropWatches('destroy');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (saRoot) rmSync(saRoot, { recursive: true, force: true });
    },
  };
}

function crdFromYaml(text: string): StoredObject {
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as StoredObject | null;
    if (obj?.kind === 'CustomResourceDefinition') return obj;
  }
  throw new Error('fake API server: no CustomResourceDefinition in the YAML given to installCrd');
}
