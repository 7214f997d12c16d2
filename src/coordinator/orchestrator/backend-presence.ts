/**
 * Which backend CRDs the cluster has (rayclusters.ray.io, leaderworkersets.leaderworkerset.x-k8s.io),
 * followed by crd-presence.ts, and a validator per installed CRD compiled from its own schema (the
 * version brixlet writes: ray.io/v1, leaderworkerset.x-k8s.io/v1), so an object is checked against
 * what this cluster will accept before it is written. A CRD without that version (KubeRay before
 * 1.1 served only v1alpha1) validates every object to one problem saying so. Reading CRDs may be
 * forbidden: presence then comes from discovery and nothing is validated.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { type CrdPresence, type CustomResourceDefinition, watchCrdPresence } from '../../kube/crd-presence.js';
import { compileCrd } from '../../kube/crd-schema.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { BACKEND_CRDS, BACKEND_REFS, type BackendPresence } from './reconciler.js';
import type { FleetBackend } from './types.js';

export interface BackendPresenceOptions {
  readonly kube: KubeClient;
  readonly log: Logger;
  readonly pollIntervalMs?: number;
}

export function followBackendCrds(o: BackendPresenceOptions): BackendPresence & Disposable & { whenKnown(): Promise<void> } {
  const listeners = new Set<(b: FleetBackend) => void>();
  const compiled = new Map<FleetBackend, { rv: string; validate: (obj: unknown) => string[] }>();
  const presence = new Map<FleetBackend, CrdPresence>();
  for (const backend of ['ray', 'lws'] as const) {
    presence.set(
      backend,
      watchCrdPresence({
        kube: o.kube,
        name: BACKEND_CRDS[backend],
        log: o.log,
        ...(o.pollIntervalMs !== undefined && { pollIntervalMs: o.pollIntervalMs }),
        onChange: () => {
          for (const fn of listeners) fn(backend);
        },
      }),
    );
  }
  const validatorOf = (backend: FleetBackend, crd: CustomResourceDefinition): ((obj: unknown) => string[]) => {
    const rv = crd.metadata?.resourceVersion ?? '';
    const had = compiled.get(backend);
    if (had !== undefined && had.rv === rv) return had.validate;
    const version = BACKEND_REFS[backend].version;
    let validate: (obj: unknown) => string[];
    try {
      const c = compileCrd(crd, version);
      validate = (obj) => c.validate(obj);
    } catch (err) {
      const why = `the installed ${BACKEND_CRDS[backend]} CRD cannot validate ${BACKEND_REFS[backend].group}/${version}: ${(err as Error).message}`;
      o.log.warn({ crd: BACKEND_CRDS[backend] }, why);
      validate = () => [why];
    }
    compiled.set(backend, { rv, validate });
    return validate;
  };
  return {
    name: 'backend CRD presence',
    installed: (backend) => presence.get(backend)?.state.present === true,
    validator(backend) {
      const state = presence.get(backend)?.state;
      if (state === undefined || !state.present || state.via !== 'crd') return undefined;
      return validatorOf(backend, state.crd);
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async whenKnown() {
      await Promise.all([...presence.values()].map((p) => p.whenKnown()));
    },
    async dispose() {
      listeners.clear();
      await Promise.all([...presence.values()].map((p) => p.dispose()));
    },
  };
}
