import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { LABEL_REVISION } from '../../../src/coordinator/orchestrator/types.js';
import { closeRigs, condition, raySpec, startRig, status } from './controller-setup.js';
import { type FleetWorld, NS, RAYS } from './fleet-world.js';

afterEach(closeRigs);

/** Watches every store change and records each moment the bounds of a rollout were broken. */
function watchBounds(w: FleetWorld, fleet: string, max: number, minReady: number, groupSize: number): { violations: string[]; maxSeen: number; minReadySeen: number; stop(): void } {
  const out = { violations: [] as string[], maxSeen: 0, minReadySeen: Infinity, stop: () => undefined as void };
  const check = (): void => {
    const count = w.rayClusters(fleet).length;
    const ready = w.readyReplicas(fleet, groupSize);
    out.maxSeen = Math.max(out.maxSeen, count);
    out.minReadySeen = Math.min(out.minReadySeen, ready);
    if (count > max) out.violations.push(`${count} RayClusters > ${max}`);
    if (ready < minReady) out.violations.push(`${ready} ready < ${minReady}`);
  };
  out.stop = w.server.store.subscribe(() => check()) as () => void;
  check();
  return out;
}

async function upgrade(maxSurge: number, maxUnavailable: number): Promise<void> {
  const replicas = 3;
  const { world: w } = await startRig({ readyAfterMs: 30 }, {}, [['llama', raySpec({ replicas, rollout: { maxSurge, maxUnavailable } })]]);
  await w.until(() => status(w, 'llama').readyReplicas === replicas && w.readyReplicas('llama', 2) === replicas, 60_000, 'fleet ready');
  const before = status(w, 'llama').currentRevision;
  const bounds = watchBounds(w, 'llama', replicas + maxSurge, replicas - maxUnavailable, 2);
  const events = w.events.length;
  w.patchFleetSpec('llama', { image: 'vllm/vllm-openai:v0.9.0' });
  await w.until(() => {
    const s = status(w, 'llama');
    const rcs = w.rayClusters('llama');
    return (
      s.currentRevision !== before &&
      s.replicas === replicas &&
      s.updatedReplicas === replicas &&
      s.readyReplicas === replicas &&
      rcs.length === replicas &&
      rcs.every((r) => r.metadata.labels?.[LABEL_REVISION] === s.currentRevision) &&
      condition(w, 'llama', 'Progressing')?.reason === 'NewRevisionAvailable'
    );
  }, 90_000, 'upgrade done');
  bounds.stop();
  expect(bounds.violations).toEqual([]);
  // Every old replica went and a new one came: 3 deletions and 3 creations of RayClusters.
  const steps = w.events.slice(events).filter((e) => e.resource === RAYS && e.type !== 'MODIFIED').map((e) => e.type);
  expect(steps.filter((t) => t === 'DELETED')).toHaveLength(replicas);
  expect(steps.filter((t) => t === 'ADDED')).toHaveLength(replicas);
  expect(bounds.maxSeen).toBe(replicas + maxSurge);
}

describe('fleet controller rollouts', () => {
  it('upgrades on an image change one replica at a time with the defaults (maxSurge 0, maxUnavailable 1), never above 3 RayClusters or below 2 ready', () => upgrade(0, 1), 120_000);

  it('upgrades with maxSurge 1 / maxUnavailable 0: never more than 4 RayClusters, never fewer than 3 ready', () => upgrade(1, 0), 120_000);

  it('scales with the scale subresource; scale-down takes the not-ready replica first, then the lowest deletion cost', async () => {
    const { world: w } = await startRig({}, {}, [['llama', raySpec({ replicas: 3 })]]);
    await w.until(() => status(w, 'llama').readyReplicas === 3, 60_000, 'three ready');
    const kc = new KubeConfig();
    kc.loadFromString(w.server.kubeconfig());
    const api = kc.makeApiClient(CustomObjectsApi);
    const scale = (replicas: number) =>
      api.patchNamespacedCustomObjectScale({ group: 'brixlet.io', version: 'v1alpha1', namespace: NS, plural: 'modelfleets', name: 'llama', body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

    // One replica loses readiness: it goes first.
    const [a, b, c] = w.rayClusters('llama').map((r) => r.metadata.name ?? '');
    const headOf = (rc: string) => w.pods((p) => p.metadata.labels?.['ray.io/cluster'] === rc && p.metadata.labels?.['ray.io/node-type'] === 'head')[0]?.metadata.name ?? '';
    w.setPodReady(headOf(b as string), false);
    await w.until(() => status(w, 'llama').readyReplicas === 2, 30_000, 'one not ready');
    await scale(2);
    await w.until(() => w.rayClusters('llama').length === 2, 30_000, 'scaled to 2');
    expect(w.rayClusters('llama').map((r) => r.metadata.name).sort()).toEqual([a, c].sort());

    // Then the lower pod-deletion-cost goes.
    const cur = w.server.store.get(RAYS, NS, c as string);
    w.server.store.update(RAYS, NS, c as string, { ...cur!, metadata: { ...cur!.metadata, annotations: { ...cur!.metadata.annotations, 'controller.kubernetes.io/pod-deletion-cost': '-5' } } });
    await scale(1);
    await w.until(() => w.rayClusters('llama').length === 1, 30_000, 'scaled to 1');
    expect(w.rayClusters('llama').map((r) => r.metadata.name)).toEqual([a]);

    // And up again: a new replica of the current revision.
    await scale(3);
    await w.until(() => status(w, 'llama').readyReplicas === 3, 30_000, 'scaled back to 3');
    expect(w.rayClusters('llama')).toHaveLength(3);
    const s = status(w, 'llama');
    expect(s.replicas).toBe(3);
    // The scale subresource reads status.selector: the serving pods.
    const read = (await api.getNamespacedCustomObjectScale({ group: 'brixlet.io', version: 'v1alpha1', namespace: NS, plural: 'modelfleets', name: 'llama' })) as { status?: { replicas?: number; selector?: string } };
    expect(read.status).toMatchObject({ replicas: 3, selector: 'brixlet.io/fleet=llama,brixlet.io/role=serving' });
  }, 120_000);
});
