/**
 * Whether a CustomResourceDefinition (`rayclusters.ray.io`, `leaderworkersets.leaderworkerset.x-k8s.io`)
 * is installed and Established, kept current by polling, so a controller can start without a
 * backend's CRD, say so, and pick it up once it is installed (or notice it removed). The CRD object
 * comes with it: callers validate what they write against its versions' openAPIV3Schema. Where RBAC
 * forbids reading CRDs (403), API discovery of the group answers presence instead (no schema then).
 */
import { ApisApi, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import type { CustomObjects } from './custom-objects.js';
import { KubeError, toKubeError } from './kube-error.js';
import type { KubeObject, ResourceRef } from './types.js';

export const CRD_RESOURCE: ResourceRef = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', namespaced: false };

export interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: Record<string, unknown>;
}

export interface CustomResourceDefinition extends KubeObject {
  spec?: { group?: string; scope?: string; names?: { kind?: string; plural?: string }; versions?: CrdVersion[] };
  status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[]; storedVersions?: string[] };
}

export type CrdState =
  /** Not checked successfully yet (the API server has not answered). */
  | { readonly present: false; readonly reason: 'unknown' }
  | { readonly present: false; readonly reason: 'absent' | 'not-established' | 'terminating'; readonly crd?: CustomResourceDefinition }
  | { readonly present: true; readonly via: 'crd'; readonly crd: CustomResourceDefinition; readonly versions: string[] }
  /** Found through discovery because reading CRDs is forbidden: no schema to validate against. */
  | { readonly present: true; readonly via: 'discovery'; readonly versions: string[] };

export interface CrdPresenceOptions {
  readonly kube: { readonly kubeConfig: KubeConfig; customObjects<T extends KubeObject>(ref: ResourceRef): CustomObjects<T> };
  /** `plural.group`, as the CRD is named. */
  readonly name: string;
  /** Checks while everything answers; default 15 s. */
  readonly pollIntervalMs?: number;
  /** After failures the interval doubles up to this; default 5 min. */
  readonly maxBackoffMs?: number;
  readonly log: Logger;
  /** Every change of presence, and of the CRD while present (a new resourceVersion). */
  readonly onChange?: (state: CrdState) => void;
}

export interface CrdPresence extends Disposable {
  readonly state: CrdState;
  /** The CRD while present and readable. */
  crd(): CustomResourceDefinition | undefined;
  /** Resolves with the first state that is not 'unknown'. */
  whenKnown(): Promise<CrdState>;
  /** Checks now (in addition to the polling) and resolves with the resulting state. */
  refresh(): Promise<CrdState>;
  /** Subscribe to changes; returns the unsubscribe function. */
  onChange(listener: (state: CrdState) => void): () => void;
}

function servedVersions(crd: CustomResourceDefinition): string[] {
  return (crd.spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name);
}

function stateOf(crd: CustomResourceDefinition | undefined): CrdState {
  if (!crd) return { present: false, reason: 'absent' };
  if (crd.metadata?.deletionTimestamp) return { present: false, reason: 'terminating', crd };
  const established = (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
  if (!established) return { present: false, reason: 'not-established', crd };
  return { present: true, via: 'crd', crd, versions: servedVersions(crd) };
}

const fingerprint = (s: CrdState): string =>
  s.present ? `${s.via}:${s.via === 'crd' ? (s.crd.metadata?.resourceVersion ?? '') : s.versions.join(',')}` : `${s.reason}:${'crd' in s ? (s.crd?.metadata?.resourceVersion ?? '') : ''}`;

export function watchCrdPresence(opts: CrdPresenceOptions): CrdPresence {
  const { name } = opts;
  const dot = name.indexOf('.');
  if (dot <= 0) throw new TypeError(`a CRD name is plural.group, got "${name}"`);
  const plural = name.slice(0, dot);
  const group = name.slice(dot + 1);
  const crds = opts.kube.customObjects<CustomResourceDefinition>(CRD_RESOURCE);
  const apis = opts.kube.kubeConfig.makeApiClient(ApisApi);
  const custom = opts.kube.kubeConfig.makeApiClient(CustomObjectsApi);
  const interval = opts.pollIntervalMs ?? 15_000;
  const maxBackoff = opts.maxBackoffMs ?? 300_000;
  const log = opts.log.child({ crd: name });
  const listeners = new Set<(state: CrdState) => void>();
  if (opts.onChange) listeners.add(opts.onChange);
  let state: CrdState = { present: false, reason: 'unknown' };
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let inFlight: Promise<CrdState> | undefined;
  let knownWaiters: ((s: CrdState) => void)[] = [];

  async function viaDiscovery(): Promise<CrdState> {
    try {
      const list = await apis.getAPIVersions();
      const found = list.groups.find((g) => g.name === group);
      const versions: string[] = [];
      for (const v of found?.versions ?? []) {
        const resources = await custom.getAPIResources({ group, version: v.version });
        if (resources.resources.some((r) => r.name === plural)) versions.push(v.version);
      }
      return versions.length ? { present: true, via: 'discovery', versions } : { present: false, reason: 'absent' };
    } catch (err) {
      throw toKubeError(err, `discover ${group}`);
    }
  }

  async function check(): Promise<CrdState> {
    try {
      return stateOf(await crds.find(name));
    } catch (err) {
      if (err instanceof KubeError && err.status === 403) return viaDiscovery();
      throw err;
    }
  }

  function publish(next: CrdState): void {
    const changed = fingerprint(next) !== fingerprint(state);
    const wasPresent = state.present;
    state = next;
    if (next.present || next.reason !== 'unknown') for (const resolve of knownWaiters.splice(0)) resolve(next);
    if (!changed) return;
    if (next.present !== wasPresent || !next.present) log.info({ present: next.present, ...(next.present ? { via: next.via, versions: next.versions } : { reason: next.reason }) }, next.present ? 'CRD is installed' : 'CRD is not installed');
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (err) {
        log.error({ err }, 'CRD presence listener threw');
      }
    }
  }

  function schedule(ms: number): void {
    if (disposed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), ms);
    timer.unref?.();
  }

  function refresh(): Promise<CrdState> {
    inFlight ??= check()
      .then(
        (next) => {
          failures = 0;
          if (!disposed) publish(next);
          return next;
        },
        (err: unknown) => {
          failures++;
          const level = failures === 1 || failures % 10 === 0 ? 'warn' : 'debug';
          log[level]({ err, failures }, 'cannot tell whether the CRD is installed, retrying');
          return state;
        },
      )
      .finally(() => {
        inFlight = undefined;
        schedule(failures ? Math.min(maxBackoff, interval * 2 ** failures) : interval);
      });
    return inFlight;
  }

  void refresh();

  return {
    name: `CRD presence ${name}`,
    get state() {
      return state;
    },
    crd: () => (state.present && state.via === 'crd' ? state.crd : undefined),
    whenKnown: () => (state.present || state.reason !== 'unknown' ? Promise.resolve(state) : new Promise((resolve) => knownWaiters.push(resolve))),
    refresh,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async dispose() {
      disposed = true;
      clearTimeout(timer);
      listeners.clear();
      knownWaiters = [];
      await inFlight?.catch(() => undefined);
      clearTimeout(timer);
    },
  };
}
