// A BackendContext for calling syncRay / syncLws directly: the fleet, its spec and revision, the
// cached objects and pods the test gives, replica health from health.ts's replicaHealth (engine
// healthy, Ray as the group needs unless told otherwise), and writes recorded in order (the
// controller's writes go to the API server; here the test plays the cache and feeds objects back).
import type { BackendContext, BackendObject, FleetMemory, FleetPod, FleetWrites } from '../../../src/coordinator/orchestrator/backend.js';
import { newFleetMemory } from '../../../src/coordinator/orchestrator/backend.js';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { type RayProbe, type ReplicaPod, replicaHealth } from '../../../src/coordinator/orchestrator/health.js';
import { templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import type { ModelFleetSpec, ModelFleetSpecInput } from '../../../src/coordinator/orchestrator/types.js';

export type Write =
  | { readonly op: 'create' | 'replace'; readonly obj: BackendObject }
  | { readonly op: 'delete'; readonly name: string }
  | { readonly op: 'event'; readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string };

export interface RecordingWrites extends FleetWrites {
  readonly log: Write[];
  /** The next create / replace / delete throws this (once). */
  failNext(op: 'create' | 'replace' | 'delete', err: Error): void;
  events(): { type: string; reason: string; message: string }[];
  objects(op: 'create' | 'replace'): BackendObject[];
  deleted(): string[];
}

export function recordingWrites(): RecordingWrites {
  const log: Write[] = [];
  const failing = new Map<string, Error>();
  const take = (op: string): void => {
    const err = failing.get(op);
    if (err !== undefined) {
      failing.delete(op);
      throw err;
    }
  };
  return {
    log,
    async create(obj) {
      take('create');
      log.push({ op: 'create', obj });
      return obj;
    },
    async replace(obj) {
      take('replace');
      log.push({ op: 'replace', obj });
      return obj;
    },
    async delete(name) {
      take('delete');
      log.push({ op: 'delete', name });
      return true;
    },
    event(type, reason, message) {
      log.push({ op: 'event', type, reason, message });
    },
    failNext: (op, err) => void failing.set(op, err),
    events: () => log.flatMap((w) => (w.op === 'event' ? [{ type: w.type, reason: w.reason, message: w.message }] : [])),
    objects: (op) => log.flatMap((w) => (w.op === op ? [w.obj] : [])),
    deleted: () => log.flatMap((w) => (w.op === 'delete' ? [w.name] : [])),
  };
}

export const FLEET_UID = 'fleet-uid-1';

export function specOf(over: Partial<ModelFleetSpecInput> = {}): ModelFleetSpec {
  return fleetDefaults({ model: 'meta-llama/Llama-3.1-405B-Instruct', image: 'vllm/vllm-openai:v0.8.5', tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2, ...over });
}

export interface ContextOptions {
  readonly name?: string;
  readonly spec?: ModelFleetSpec;
  readonly nowMs?: number;
  readonly objects?: readonly BackendObject[];
  readonly pods?: readonly FleetPod[];
  readonly avoidNodes?: readonly string[];
  readonly memory?: FleetMemory;
  readonly writes?: RecordingWrites;
  readonly validate?: (obj: BackendObject) => string[];
  /** What the head's dashboard says (ray); default: the group's nodes with TP × PP GPUs. */
  readonly ray?: RayProbe;
  /** Suffixes handed out in turn for new replica names. */
  readonly suffixes?: string[];
}

export function backendContext(o: ContextOptions = {}): BackendContext & { writes: RecordingWrites } {
  const spec = o.spec ?? specOf();
  const name = o.name ?? 'llama';
  const suffixes = [...(o.suffixes ?? [])];
  let n = 0;
  return {
    fleet: { apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', metadata: { name, namespace: 'serving', uid: FLEET_UID }, spec: spec as unknown as ModelFleetSpecInput },
    spec,
    revision: templateRevision(spec),
    nowMs: o.nowMs ?? Date.parse('2026-03-01T10:00:00Z'),
    avoidNodes: o.avoidNodes ?? [],
    objects: o.objects ?? [],
    pods: o.pods ?? [],
    memory: o.memory ?? newFleetMemory(),
    writes: o.writes ?? recordingWrites(),
    validate: o.validate ?? (() => []),
    async assess(pods, serving, groupSize) {
      return replicaHealth({
        pods: pods as readonly ReplicaPod[],
        expectedPods: groupSize,
        backend: spec.backend,
        requiredGpus: spec.tensorParallelSize * spec.pipelineParallelSize,
        ...(serving !== undefined && { engine: { healthy: true } }),
        ...(spec.backend === 'ray' && { ray: o.ray ?? { reachable: true, gcsHealthy: true, aliveNodes: groupSize, gpusTotal: spec.tensorParallelSize * spec.pipelineParallelSize } }),
      });
    },
    suffix: () => suffixes.shift() ?? `s${(n++).toString().padStart(4, 'b')}`,
  };
}

/** A Running, Ready pod (or one in `phase`) with the labels given. */
export function readyPod(name: string, labels: Record<string, string>, over: { uid?: string; node?: string; phase?: string; restarts?: number } = {}): FleetPod {
  const ready = (over.phase ?? 'Running') === 'Running';
  return {
    metadata: { name, uid: over.uid ?? `uid-${name}`, labels },
    spec: { nodeName: over.node ?? `node-${name}` },
    status: {
      phase: over.phase ?? 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [{ name: 'engine', ready, restartCount: over.restarts ?? 0, state: ready ? { running: {} } : { terminated: { exitCode: 1, reason: 'Error' } } }],
    },
  };
}

/** What the API server would store for a written object: uid, resourceVersion, creation time. */
export function stored(obj: BackendObject, over: { uid?: string; resourceVersion?: string; createdMs?: number; deleting?: boolean } = {}): BackendObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: over.uid ?? `uid-${obj.metadata?.name ?? ''}`,
      resourceVersion: over.resourceVersion ?? '100',
      creationTimestamp: new Date(over.createdMs ?? Date.parse('2026-03-01T09:00:00Z')).toISOString(),
      ...(over.deleting === true && { deletionTimestamp: '2026-03-01T10:00:00Z' }),
    },
  };
}
