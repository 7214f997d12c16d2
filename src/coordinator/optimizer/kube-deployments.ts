/**
 * Deployments from Kubernetes (--optimizer.deployment-selector, e.g. model.aibrix.ai/name): an
 * informer over apps/v1 Deployments, each labelled one turned into a planned deployment
 * (deploymentFromKube) and handed to the planner with the configured ones (those win on the same
 * namespace/name) whenever the list changes. The planner takes spec.replicas as the count running when
 * it first sees a deployment; later changes of spec.replicas (its own scaling, or anyone's) do not
 * reset the plan in force.
 */
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { ResourceRef } from '../../kube/types.js';
import { deploymentFromKube, type KubeDeployment, type OptimizerDeployment } from './deployments.js';

export const DEPLOYMENTS: ResourceRef = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };

export interface KubeDeploymentOptions {
  /** Label selector, e.g. `model.aibrix.ai/name`. */
  readonly selector: string;
  /** kube.namespace; empty = the client's namespace. */
  readonly namespace?: string;
  /** Deployments from --optimizer.deployments: kept, and preferred over a discovered one of the same name. */
  readonly configured: readonly OptimizerDeployment[];
  readonly onChange: (deployments: OptimizerDeployment[]) => void;
  readonly log?: Logger;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly minWatchMs?: number;
}

export function followKubeDeployments(kube: KubeClient, o: KubeDeploymentOptions): Disposable {
  const informer = kube.informer<KubeDeployment & { metadata?: { name?: string } }>(DEPLOYMENTS, {
    labelSelector: o.selector,
    ...(o.namespace !== undefined && o.namespace !== '' && { namespace: o.namespace }),
    ...(o.backoff !== undefined && { backoff: o.backoff }),
    ...(o.minWatchMs !== undefined && { minWatchMs: o.minWatchMs }),
  });
  const key = (d: OptimizerDeployment) => `${d.namespace}/${d.name}`;
  let last = '';
  const publish = (): void => {
    const configured = new Set(o.configured.map(key));
    const found = informer
      .list()
      .map(deploymentFromKube)
      .filter((d): d is OptimizerDeployment => d !== undefined && !configured.has(key(d)));
    const all = [...o.configured, ...found].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    // Replica changes alone are not news to the planner (it keeps its own count in force).
    const shape = JSON.stringify(all.map(({ replicas: _r, ...rest }) => rest));
    if (shape === last) return;
    last = shape;
    o.log?.info({ deployments: all.map(key) }, 'deployments the optimizer plans');
    o.onChange(all);
  };
  const off = [informer.on('add', publish), informer.on('update', publish), informer.on('delete', publish), informer.on('sync', publish)];
  return {
    name: 'optimizer deployment informer',
    dispose() {
      for (const f of off) f();
      return informer.dispose();
    },
  };
}
