// renderFleet on every shipped example (examples/fleets/): each validates, renders, and every
// rendered object validates against its backend's CRD from the test data.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isBrixletError } from '../../../src/common/errors.js';
import { renderFleet } from '../../../src/coordinator/orchestrator/render.js';
import { templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import { fleetDefaults, fleetProblems } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import type { ModelFleet } from '../../../src/coordinator/orchestrator/types.js';
import { compileCrd } from '../../../src/kube/crd-schema.js';
import { crdErrors, haveCrd, SKIP_REASON } from '../../chaos/crd-schema.js';
import { EXAMPLES_DIR, fleet, fleetCrdYaml } from './fleet-fixtures.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();
const examples = files.map((f) => [f, parse(readFileSync(join(EXAMPLES_DIR, f), 'utf8')) as ModelFleet] as const);
const fleetCrd = compileCrd(fleetCrdYaml());

/** Every pod a rendered object makes: [pods, the container running the engine or Ray, role]. */
function pods(obj: Json, spec: ReturnType<typeof fleetDefaults>): { count: number; gpus: number; args: string; role: string }[] {
  const c = (tpl: Json) => tpl.spec.containers[0];
  const gpus = (tpl: Json) => Number(c(tpl).resources.limits['nvidia.com/gpu']);
  if (obj.kind === 'RayCluster') {
    const head = obj.spec.headGroupSpec.template;
    const workers = (obj.spec.workerGroupSpecs ?? []) as Json[];
    return [{ count: 1, gpus: gpus(head), args: c(head).args[0], role: head.metadata.labels['brixlet.io/role'] }, ...workers.map((w) => ({ count: w.replicas, gpus: gpus(w.template), args: c(w.template).args[0], role: w.template.metadata.labels['brixlet.io/role'] }))];
  }
  const t = obj.spec.leaderWorkerTemplate;
  return [
    { count: obj.spec.replicas, gpus: gpus(t.leaderTemplate), args: c(t.leaderTemplate).args[0], role: t.leaderTemplate.metadata.labels['brixlet.io/role'] },
    { count: obj.spec.replicas * (spec.nodesPerReplica - 1), gpus: gpus(t.workerTemplate), args: c(t.workerTemplate).args[0], role: t.workerTemplate.metadata.labels['brixlet.io/role'] },
  ];
}

describe('examples/fleets', () => {
  it('has Llama 3.1 405B and DeepSeek-R1 (TP 16, and TP 8 × PP 2 over TCP) for both backends', () => {
    expect(files).toEqual([
      'deepseek-r1-tp16-lws.yaml', 'deepseek-r1-tp16-ray.yaml', 'deepseek-r1-tp8-pp2-tcp-lws.yaml', 'deepseek-r1-tp8-pp2-tcp-ray.yaml', 'llama-3.1-405b-lws.yaml', 'llama-3.1-405b-ray.yaml',
    ]);
    for (const [f, ex] of examples) expect(ex.spec.backend, f).toBe(f.includes('-lws') ? 'lws' : 'ray');
    const shape = (f: string) => examples.find(([n]) => n === f)![1].spec;
    expect(shape('llama-3.1-405b-ray.yaml')).toMatchObject({ tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2 });
    expect(shape('deepseek-r1-tp16-lws.yaml')).toMatchObject({ tensorParallelSize: 16, pipelineParallelSize: 1, gpusPerNode: 8, nodesPerReplica: 2 });
    expect(shape('deepseek-r1-tp8-pp2-tcp-ray.yaml').env).toContainEqual({ name: 'NCCL_IB_DISABLE', value: '1' });
  });

  describe.each(examples)('%s', (_file, ex) => {
    const spec = fleetDefaults(ex.spec);
    const objects = renderFleet(ex) as Json[];

    it('passes brixlet rules and the ModelFleet CRD', () => {
      expect(fleetProblems(ex)).toEqual([]);
      expect(fleetCrd.validate(ex)).toEqual([]);
    });

    it('renders one RayCluster per replica (ray) or one LeaderWorkerSet (lws), labelled with the revision', () => {
      expect(objects).toHaveLength(spec.backend === 'ray' ? spec.replicas : 1);
      for (const o of objects) expect(o.metadata.labels['brixlet.io/revision']).toBe(templateRevision(spec));
      expect(new Set(objects.map((o) => o.metadata.name)).size).toBe(objects.length);
    });

    it('gives each replica TP × PP GPUs: GPUs per pod × pods', () => {
      const all = objects.flatMap((o) => pods(o, spec));
      const gpus = all.reduce((n, p) => n + p.count * p.gpus, 0);
      expect(gpus).toBe(spec.tensorParallelSize * spec.pipelineParallelSize * spec.replicas);
      expect(all.every((p) => p.gpus === spec.gpusPerNode)).toBe(true);
    });

    it('has the exact engine flags on the serving pod', () => {
      const serving = objects.flatMap((o) => pods(o, spec)).find((p) => p.role === 'serving')!;
      const flags = `--tensor-parallel-size ${spec.tensorParallelSize} --pipeline-parallel-size ${spec.pipelineParallelSize}`;
      expect(serving.args).toContain(`vllm serve ${spec.model} --served-model-name ${spec.servedModelName} ${flags}`);
      if (spec.backend === 'ray') expect(serving.args).toContain(`${flags} --distributed-executor-backend ray --host 0.0.0.0 --port ${spec.port}`);
      else expect(serving.args).toContain(`${flags} --nnodes $(LWS_GROUP_SIZE) --node-rank $(LWS_WORKER_INDEX) --master-addr $(LWS_LEADER_ADDRESS) --host 0.0.0.0 --port ${spec.port}`);
      expect(serving.args).toContain(spec.engineArgs.join(' '));
    });

    it.skipIf(!haveCrd('RayCluster') || !haveCrd('LeaderWorkerSet'))(`validates every rendered object against its backend CRD${SKIP_REASON}`, () => {
      for (const o of objects) expect(crdErrors(o), o.metadata.name).toEqual([]);
    });
  });
});

describe('renderFleet', () => {
  it('names RayClusters stably, or with the suffixes given', () => {
    const f = fleet({ replicas: 2 });
    const a = renderFleet(f).map((o) => o.metadata?.name);
    expect(renderFleet(f).map((o) => o.metadata?.name)).toEqual(a);
    const rev = templateRevision(fleetDefaults(f.spec));
    expect(renderFleet(f, { replicaSuffixes: ['aaaaa', 'bbbbb'] }).map((o) => o.metadata?.name)).toEqual([`llama-${rev}-aaaaa`, `llama-${rev}-bbbbb`]);
  });

  it('renders nothing for zero replicas of ray, and an LWS with zero replicas for lws', () => {
    expect(renderFleet(fleet({ replicas: 0 }))).toEqual([]);
    expect((renderFleet(fleet({ replicas: 0, backend: 'lws' }))[0] as Json).spec.replicas).toBe(0);
  });

  it('passes nodes to avoid on, and rejects an invalid fleet with BRX_ERR_FLEET_INVALID', () => {
    const [rc] = renderFleet(fleet(), { avoidNodes: ['n1'] }) as Json[];
    expect(rc!.spec.headGroupSpec.template.spec.affinity.nodeAffinity).toBeDefined();
    expect(() => renderFleet(fleet({ gpusPerNode: 16, tensorParallelSize: 16, pipelineParallelSize: 1, nodesPerReplica: 1 }), { maxGpusPerNode: 8 })).toThrow(/gpusPerNode 16 is more than any reporting node has \(8\)/);
    let error: unknown;
    try {
      renderFleet(fleet({ pipelineParallelSize: 1 }));
    } catch (err) {
      error = err;
    }
    expect(isBrixletError(error, 'BRX_ERR_FLEET_INVALID')).toBe(true);
  });
});
