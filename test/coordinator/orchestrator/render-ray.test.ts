import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { shellJoin, shellQuote } from '../../../src/coordinator/orchestrator/render-pod.js';
import { headScript, renderRayCluster } from '../../../src/coordinator/orchestrator/render-ray.js';
import { templateRevision } from '../../../src/coordinator/orchestrator/revision.js';
import { crdErrors, haveCrd, SKIP_REASON } from '../../chaos/crd-schema.js';
import { fleet } from './fleet-fixtures.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const identity = { name: 'llama', namespace: 'serving', uid: 'uid-1' };
const render = (spec = fleetDefaults(fleet().spec), avoidNodes?: string[]) => renderRayCluster(identity, spec, { revision: 'rev0000001', replicaName: 'llama-rev0000001-bcdfg', ...(avoidNodes && { avoidNodes }) }) as Json;

describe('shell quoting', () => {
  it('leaves plain words alone and quotes the rest so bash reads back the same words', () => {
    expect(shellQuote('--max-model-len')).toBe('--max-model-len');
    expect(shellQuote('a b')).toBe("'a b'");
    const words = ['plain', 'with space', "it's", '$(rm -rf /)', '`id`', '"dq"', 'semi;colon', '', 'new\nline', '{"json": 1}', '*'];
    const out = execFileSync('bash', ['-c', `printf '%s\\0' ${shellJoin(words)}`]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });
});

describe('renderRayCluster', () => {
  const rc = render();
  const head = rc.spec.headGroupSpec;
  const headC = head.template.spec.containers[0];
  const worker = rc.spec.workerGroupSpecs[0];
  const workerC = worker.template.spec.containers[0];

  it('is a ray.io/v1 RayCluster owned by the fleet, labelled, with the command left to brixlet', () => {
    expect(rc.apiVersion).toBe('ray.io/v1');
    expect(rc.kind).toBe('RayCluster');
    expect(rc.metadata).toEqual({
      name: 'llama-rev0000001-bcdfg',
      namespace: 'serving',
      labels: { 'brixlet.io/fleet': 'llama', 'brixlet.io/revision': 'rev0000001', 'brixlet.io/replica': 'llama-rev0000001-bcdfg', 'app.kubernetes.io/managed-by': 'brixlet' },
      annotations: { 'ray.io/overwrite-container-cmd': 'true' },
      ownerReferences: [{ apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', name: 'llama', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    });
    expect(rc.spec.upgradeStrategy).toEqual({ type: 'None' });
    expect(rc.spec.rayVersion).toBe('2.40.0');
    expect(renderRayCluster({ name: 'llama' }, fleetDefaults(fleet().spec), { revision: 'r', replicaName: 'n' }).metadata).not.toHaveProperty('ownerReferences');
  });

  it('labels head and worker pods with fleet, revision, replica and role', () => {
    expect(head.template.metadata.labels).toMatchObject({ 'brixlet.io/fleet': 'llama', 'brixlet.io/revision': 'rev0000001', 'brixlet.io/replica': 'llama-rev0000001-bcdfg', 'brixlet.io/role': 'serving' });
    expect(worker.template.metadata.labels).toMatchObject({ 'brixlet.io/replica': 'llama-rev0000001-bcdfg', 'brixlet.io/role': 'worker' });
  });

  it('runs Ray, waits for the GCS, then execs vllm serve with the exact flags on the head', () => {
    expect(headC.command).toEqual(['/bin/bash', '-lc', '--']);
    const script: string = headC.args[0];
    expect(script.split('\n')[0]).toBe('ulimit -n 65536');
    expect(script).toContain('eval "$KUBERAY_GEN_RAY_START_CMD" &');
    expect(script).toContain('until ray status >/dev/null 2>&1; do');
    expect(script).toMatch(/-ge 120 \]; then echo "brixlet: the Ray GCS/);
    expect(script.split('\n').at(-1)).toBe(
      'exec vllm serve meta-llama/Llama-3.1-405B-Instruct --served-model-name llama-3.1-405b-instruct --tensor-parallel-size 8 --pipeline-parallel-size 2 --distributed-executor-backend ray --host 0.0.0.0 --port 8000',
    );
    expect(head.rayStartParams).toEqual({ 'dashboard-host': '0.0.0.0', 'num-gpus': '8' });
  });

  it('appends engine arguments shell-quoted', () => {
    const spec = fleetDefaults(fleet({ engineArgs: ['--max-model-len', '32768', '--override-generation-config', '{"temperature": 0.6}', "--chat-template=it's"] }).spec);
    expect(headScript(spec).split('\n').at(-1)).toMatch(/ --port 8000 --max-model-len 32768 --override-generation-config '\{"temperature": 0\.6\}' '--chat-template=it'\\''s'$/);
  });

  it('gives workers (nodes - 1) fixed replicas running Ray blocking, with ray stop on preStop', () => {
    expect(worker).toMatchObject({ groupName: 'workers', replicas: 1, minReplicas: 1, maxReplicas: 1, rayStartParams: { 'num-gpus': '8', block: 'true' } });
    expect(workerC.args[0]).toBe('ulimit -n 65536\neval "$KUBERAY_GEN_RAY_START_CMD"');
    expect(workerC.lifecycle.preStop.exec.command).toEqual(['/bin/sh', '-c', 'ray stop']);
    expect(workerC).not.toHaveProperty('startupProbe');
    expect(workerC.readinessProbe.httpGet).toEqual({ path: '/api/local_raylet_healthz', port: 52365 });
    const four = render(fleetDefaults(fleet({ tensorParallelSize: 8, pipelineParallelSize: 4, nodesPerReplica: 4 }).spec));
    expect(four.spec.workerGroupSpecs[0]).toMatchObject({ replicas: 3, minReplicas: 3, maxReplicas: 3 });
  });

  it('omits the worker group when a replica is one node', () => {
    const one = render(fleetDefaults(fleet({ tensorParallelSize: 8, pipelineParallelSize: 1, nodesPerReplica: 1 }).spec));
    expect(one.spec).not.toHaveProperty('workerGroupSpecs');
    expect(one.spec.headGroupSpec.template.spec.containers[0].args[0]).toContain('need=8;');
  });

  it('requests and limits gpusPerNode GPUs beside the spec resources, mounts a memory /dev/shm, exposes the ports', () => {
    const spec = fleetDefaults(fleet({ resources: { requests: { cpu: '32', memory: '512Gi' }, limits: { memory: '1Ti' } } }).spec);
    const c = render(spec).spec.headGroupSpec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '32', memory: '512Gi', 'nvidia.com/gpu': '8' }, limits: { memory: '1Ti', 'nvidia.com/gpu': '8' } });
    expect(head.template.spec.volumes).toEqual([{ name: 'dshm', emptyDir: { medium: 'Memory' } }]);
    expect(headC.volumeMounts).toEqual([{ name: 'dshm', mountPath: '/dev/shm' }]);
    expect(workerC.volumeMounts).toEqual([{ name: 'dshm', mountPath: '/dev/shm' }]);
    expect(Object.fromEntries(headC.ports.map((p: Json) => [p.name, p.containerPort]))).toEqual({ 'gcs-server': 6379, dashboard: 8265, client: 10001, metrics: 8080, http: 8000 });
  });

  it('probes /health on the engine port, with a startup budget of startupSeconds', () => {
    expect(headC.startupProbe).toMatchObject({ httpGet: { path: '/health', port: 8000 }, periodSeconds: 10, failureThreshold: 180 });
    expect(render(fleetDefaults(fleet({ startupSeconds: 2405 }).spec)).spec.headGroupSpec.template.spec.containers[0].startupProbe.failureThreshold).toBe(241);
    expect(headC.readinessProbe.httpGet).toEqual({ path: '/health', port: 8000 });
    expect(headC.livenessProbe.httpGet).toEqual({ path: '/health', port: 8000 });
  });

  it('schedules by node selector, GPU product, tolerations and env, and names the pod IP for vLLM', () => {
    const spec = fleetDefaults(fleet({ nodeSelector: { pool: 'gpu' }, gpuType: 'NVIDIA-H100-80GB-HBM3', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'llm', effect: 'NoSchedule' }], env: [{ name: 'NCCL_IB_DISABLE', value: '1' }] }).spec);
    const pod = render(spec).spec.workerGroupSpecs[0].template.spec;
    expect(pod.nodeSelector).toEqual({ pool: 'gpu', 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' });
    expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'llm', effect: 'NoSchedule' }, { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.containers[0].env).toEqual([{ name: 'NCCL_IB_DISABLE', value: '1' }, { name: 'VLLM_HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    expect(pod).not.toHaveProperty('affinity');
  });

  it('keeps nodes to avoid out by node name, without changing the revision', () => {
    const spec = fleetDefaults(fleet().spec);
    const rc2 = render(spec, ['gpu-7', 'gpu-3', 'gpu-7']);
    for (const pod of [rc2.spec.headGroupSpec.template.spec, rc2.spec.workerGroupSpecs[0].template.spec]) {
      expect(pod.affinity).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['gpu-3', 'gpu-7'] }] }] } } });
    }
    expect(templateRevision(spec)).toBe(templateRevision(fleetDefaults(fleet().spec)));
  });

  it.skipIf(!haveCrd('RayCluster'))(`validates against KubeRay's RayCluster CRD${SKIP_REASON}`, () => {
    expect(crdErrors(rc)).toEqual([]);
    expect(crdErrors(render(fleetDefaults(fleet({ tensorParallelSize: 8, pipelineParallelSize: 1, nodesPerReplica: 1, resources: { requests: { cpu: 8 as unknown as string } } }).spec), ['n1']))).toEqual([]);
    // The validator is not blind: a worker group without its template fails.
    const broken = render();
    delete broken.spec.workerGroupSpecs[0].template;
    expect(crdErrors(broken).join('\n')).toContain('template');
  });
});

describe('the head script under bash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-head-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };

  it('is valid bash', () => {
    execFileSync('bash', ['-n', '-c', headScript(fleetDefaults(fleet().spec))]);
  });

  it('starts Ray, waits until the GCS answers and the GPUs are there, then runs the engine with its arguments', () => {
    // ray status fails twice before the GCS "answers"; Ray reports 16 GPUs; vllm prints its argv.
    tool('ray', `n=$(cat "${dir}/count" 2>/dev/null || echo 0); echo $((n+1)) > "${dir}/count"; [ "$n" -ge 2 ]`);
    tool('python3', 'echo "some warning"; echo 16');
    tool('vllm', 'printf "%s|" "$@"');
    tool('ray-start', `echo started > "${dir}/started"`);
    const spec = fleetDefaults(fleet({ engineArgs: ['--max-model-len', '8192', 'a b'] }).spec);
    const out = execFileSync('bash', ['-c', headScript(spec)], { env: { PATH: `${dir}:/usr/bin:/bin`, KUBERAY_GEN_RAY_START_CMD: 'ray-start --head' } }).toString();
    expect(out).toBe('serve|meta-llama/Llama-3.1-405B-Instruct|--served-model-name|llama-3.1-405b-instruct|--tensor-parallel-size|8|--pipeline-parallel-size|2|--distributed-executor-backend|ray|--host|0.0.0.0|--port|8000|--max-model-len|8192|a b|');
    expect(execFileSync('cat', [join(dir, 'started')]).toString()).toBe('started\n');
  });
});
