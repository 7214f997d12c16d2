/**
 * Applies, reads, waits on and deletes Chaos Mesh objects through the Kubernetes API. Objects are
 * validated before anything is sent. apply creates the object, or merge-patches it
 * (`application/merge-patch+json`; custom resources take no strategic merge patch) when it
 * exists. Note that Chaos Mesh's webhook refuses spec changes to an existing experiment: change
 * labels and annotations (pause) in place, delete and re-apply to change what it does.
 */
import { BrixletError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { Informer } from '../kube/informer.js';
import type { KubeClient } from '../kube/kube-client.js';
import type { KubeError } from '../kube/kube-error.js';
import { createListWatch } from '../kube/list-watch.js';
import type { ListOptions } from '../kube/custom-objects.js';
import { CHAOS_KINDS, type ChaosKind } from './chaos-kinds.js';
import { type ChaosConditionType, type ChaosState, chaosState, describeChaosState, hasCondition } from './chaos-status.js';
import { mergePatchDiff } from './merge-patch-diff.js';
import type { AnyChaos, ChaosObject } from './types.js';
import { validateChaos } from './validate-chaos.js';

/** Chaos Mesh pauses an experiment while this annotation is "true". */
export const PAUSE_ANNOTATION = 'experiment.chaos-mesh.org/pause';

export interface ApplyResult {
  readonly action: 'created' | 'patched' | 'unchanged';
  readonly object: ChaosObject;
}

export interface WaitOptions {
  /** A condition to become True, or `Deleted` for the object to be gone (Chaos Mesh recovers before its finalizer lets go). */
  readonly until: ChaosConditionType | 'Deleted';
  readonly timeoutMs: number;
  readonly namespace?: string;
}

export interface ChaosClient {
  /** The namespace objects without one go to. */
  readonly namespace: string;
  apply(obj: AnyChaos | ChaosObject): Promise<ApplyResult>;
  get(kind: ChaosKind, name: string, namespace?: string): Promise<ChaosObject | undefined>;
  list(kind: ChaosKind, opts?: ListOptions): Promise<ChaosObject[]>;
  /** false when it did not exist. */
  delete(kind: ChaosKind, name: string, namespace?: string): Promise<boolean>;
  status(kind: ChaosKind, name: string, namespace?: string): Promise<ChaosState>;
  /** Sets or clears the pause annotation. */
  pause(kind: ChaosKind, name: string, paused: boolean, namespace?: string): Promise<ChaosObject>;
  /** Resolves with the state once `until` holds; BRX_ERR_CHAOS_TIMEOUT after timeoutMs. */
  wait(kind: ChaosKind, name: string, opts: WaitOptions): Promise<ChaosState>;
}

export interface ChaosClientOptions {
  readonly log?: Logger;
}

export function createChaosClient(kube: KubeClient, opts: ChaosClientOptions = {}): ChaosClient {
  const objects = (kind: ChaosKind) => kube.customObjects<ChaosObject>(CHAOS_KINDS[kind].ref);
  const nsOf = (namespace: string | undefined) => namespace ?? kube.namespace;

  async function patchExisting(existing: ChaosObject, desired: ChaosObject, ns: string): Promise<ApplyResult> {
    const name = existing.metadata.name ?? '';
    // Labels and annotations are merged, not replaced: the controller and other tools add their own.
    const meta: Record<string, unknown> = {};
    for (const key of ['labels', 'annotations'] as const) {
      const want = desired.metadata[key];
      if (want === undefined) continue;
      const changed = Object.fromEntries(Object.entries(want).filter(([k, v]) => existing.metadata[key]?.[k] !== v));
      if (Object.keys(changed).length > 0) meta[key] = changed;
    }
    const spec = mergePatchDiff(existing.spec, desired.spec);
    if (spec === undefined && Object.keys(meta).length === 0) return { action: 'unchanged', object: existing };
    const patch = { ...(Object.keys(meta).length > 0 ? { metadata: meta } : {}), ...(spec === undefined ? {} : { spec }) };
    opts.log?.debug({ kind: desired.kind, name, namespace: ns, patch }, 'merge-patching chaos object');
    return { action: 'patched', object: await objects(desired.kind).mergePatch(name, patch, ns) };
  }

  const self: ChaosClient = {
    namespace: kube.namespace,
    async apply(obj) {
      const desired = validateChaos(obj) as ChaosObject;
      const ns = nsOf(desired.metadata.namespace);
      const api = objects(desired.kind);
      const body = { ...desired, metadata: { ...desired.metadata, namespace: ns } };
      delete body.status;
      const name = desired.metadata.name;
      const existing = name === undefined ? undefined : await api.find(name, ns);
      if (existing !== undefined) return patchExisting(existing, body, ns);
      try {
        const created = await api.create(body, ns);
        opts.log?.info({ kind: desired.kind, name: created.metadata.name, namespace: ns }, 'created chaos object');
        return { action: 'created', object: created };
      } catch (err) {
        // Created by someone else between our read and our create: patch theirs instead.
        if (name === undefined || (err as KubeError).code !== 'BRX_ERR_KUBE_CONFLICT') throw err;
        return patchExisting(await api.get(name, ns), body, ns);
      }
    },
    get: (kind, name, namespace) => objects(kind).find(name, nsOf(namespace)),
    async list(kind, o = {}) {
      return (await objects(kind).list({ ...o, namespace: nsOf(o.namespace) })).items;
    },
    delete: (kind, name, namespace) => objects(kind).delete(name, { namespace: nsOf(namespace), ignoreNotFound: true }),
    async status(kind, name, namespace) {
      const ns = nsOf(namespace);
      return chaosState(kind, name, ns, await objects(kind).find(name, ns));
    },
    pause: (kind, name, paused, namespace) => objects(kind).mergePatch(name, { metadata: { annotations: { [PAUSE_ANNOTATION]: paused ? 'true' : null } } }, nsOf(namespace)),
    wait: (kind, name, o) => waitFor(kube, kind, name, nsOf(o.namespace), o),
  };
  return self;
}

/** Watches the one object (field selector on its name) rather than polling, so the wait ends on the event. */
async function waitFor(kube: KubeClient, kind: ChaosKind, name: string, ns: string, o: WaitOptions): Promise<ChaosState> {
  const source = createListWatch<ChaosObject>(kube.kubeConfig, CHAOS_KINDS[kind].ref, { namespace: ns, fieldSelector: `metadata.name=${name}` });
  const informer = new Informer<ChaosObject>(source, { backoff: { initialMs: 100, maxMs: 2000 } });
  const current = () => chaosState(kind, name, ns, informer.get(`${ns}/${name}`));
  const done = (s: ChaosState) => (o.until === 'Deleted' ? !s.exists : hasCondition(s, o.until));
  let lastError: KubeError | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<ChaosState>((resolve, reject) => {
      const check = () => {
        if (!informer.synced) return;
        const s = current();
        if (done(s)) resolve(s);
      };
      for (const ev of ['add', 'update', 'delete', 'sync'] as const) informer.on(ev, check);
      informer.on('error', (err) => (lastError = err));
      timer = setTimeout(() => {
        const want = o.until === 'Deleted' ? 'deletion' : `${o.until}=True`;
        const state = `waiting for ${want}; ${informer.synced ? describeChaosState(current()) : 'could not read the object'}${lastError ? `; last error: ${lastError.message}` : ''}`;
        reject(new BrixletError('BRX_ERR_CHAOS_TIMEOUT', { ms: o.timeoutMs, kind, name: `${ns}/${name}`, state }));
      }, o.timeoutMs);
      informer.start();
    });
  } finally {
    clearTimeout(timer);
    await informer.dispose();
  }
}
