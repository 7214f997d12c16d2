import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import {
  containerEnv, containerResources, engineProbes, fleetLabels, GPU_PRODUCT_LABEL, GPU_RESOURCE, modelLabel, objectMeta, ownerReferences, parallelFlags, POD_IP_ENV, PROBE_PERIOD_SECONDS, scheduling,
  shellJoin, shellQuote,
} from '../../../src/coordinator/orchestrator/render-pod.js';
import { LABEL_FLEET, LABEL_MODEL, LABEL_REVISION, type ModelFleetSpecInput } from '../../../src/coordinator/orchestrator/types.js';

const spec = (over: Partial<ModelFleetSpecInput> = {}) =>
  fleetDefaults({ model: 'meta-llama/Llama-3.1-405B-Instruct', image: 'vllm/vllm-openai:v0.8.5', tensorParallelSize: 8, pipelineParallelSize: 2, gpusPerNode: 8, nodesPerReplica: 2, ...over });

/** The words bash reads back from one rendered command line. */
function bashWords(line: string): string[] {
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shell quoting', () => {
  it('leaves plain words as they are and quotes the rest', () => {
    expect(shellQuote('--max-model-len=8192')).toBe('--max-model-len=8192');
    expect(shellQuote('meta-llama/Llama-3.1-8B')).toBe('meta-llama/Llama-3.1-8B');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('gives bash back exactly the words it was given, whatever they hold', () => {
    const words = ['vllm', 'serve', '', 'a b', "it's", '$(reboot)', '`id`', '$HOME', '"q"', 'x;y', 'a|b', '*', '~', 'new\nline', 'back\\slash', '{"k": [1, 2]}', "''", '!x', '#c'];
    expect(bashWords(shellJoin(words))).toEqual(words);
  });
});

describe('labels and metadata', () => {
  it('labels every object with the fleet, the revision and brixlet as manager', () => {
    expect(fleetLabels({ name: 'llama' }, 'abc123')).toEqual({ [LABEL_FLEET]: 'llama', [LABEL_REVISION]: 'abc123', 'app.kubernetes.io/managed-by': 'brixlet' });
  });

  it('gives pods the model label only when the served name is a valid label value', () => {
    expect(modelLabel(spec())).toEqual({ [LABEL_MODEL]: 'llama-3.1-405b-instruct' });
    expect(modelLabel(spec({ servedModelName: 'a'.repeat(63) }))).toEqual({ [LABEL_MODEL]: 'a'.repeat(63) });
    expect(modelLabel(spec({ servedModelName: 'a'.repeat(64) }))).toEqual({});
    expect(modelLabel(spec({ servedModelName: 'org/model' }))).toEqual({});
    expect(modelLabel(spec({ servedModelName: 'model-' }))).toEqual({});
  });

  it('owns the rendered objects through the fleet uid, and only when it is known', () => {
    expect(ownerReferences({ name: 'llama', uid: 'u-1' })).toEqual([{ apiVersion: 'brixlet.io/v1alpha1', kind: 'ModelFleet', name: 'llama', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
    expect(ownerReferences({ name: 'llama' })).toBeUndefined();
    expect(ownerReferences({ name: 'llama', uid: '' })).toBeUndefined();
  });

  it('leaves out an empty namespace, absent annotations and unknown owners', () => {
    expect(objectMeta({ name: 'llama', namespace: '' }, 'x', { a: 'b' })).toEqual({ name: 'x', labels: { a: 'b' } });
    expect(objectMeta({ name: 'llama', namespace: 'serving', uid: 'u' }, 'x', {}, { k: 'v' })).toEqual({
      name: 'x',
      namespace: 'serving',
      labels: {},
      annotations: { k: 'v' },
      ownerReferences: [expect.objectContaining({ uid: 'u', controller: true })],
    });
  });
});

describe('container parts', () => {
  it('renders the parallel sizes from the spec', () => {
    expect(parallelFlags(spec({ tensorParallelSize: 4, pipelineParallelSize: 4, gpusPerNode: 8 }))).toEqual(['--tensor-parallel-size', '4', '--pipeline-parallel-size', '4']);
  });

  it('asks for gpusPerNode GPUs as request and limit, beside the spec resources', () => {
    const s = spec({ resources: { requests: { cpu: '16', memory: '200Gi' }, limits: { memory: '400Gi' } } });
    expect(containerResources(s)).toEqual({ requests: { cpu: '16', memory: '200Gi', [GPU_RESOURCE]: '8' }, limits: { memory: '400Gi', [GPU_RESOURCE]: '8' } });
    expect(containerResources(spec())).toEqual({ requests: { [GPU_RESOURCE]: '8' }, limits: { [GPU_RESOURCE]: '8' } });
    // The GPU count is brixlet's to set even if a spec (past validation) named it.
    expect(containerResources(spec({ resources: { limits: { [GPU_RESOURCE]: '1' } } })).limits).toEqual({ [GPU_RESOURCE]: '8' });
  });

  it('keeps the spec env first and lets it override an extra variable of the same name', () => {
    const s = spec({ env: [{ name: 'VLLM_HOST_IP', value: '1.2.3.4' }, { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } }] });
    const env = containerEnv(s, [POD_IP_ENV('VLLM_HOST_IP'), POD_IP_ENV('POD_IP')]);
    expect(env).toEqual([
      { name: 'VLLM_HOST_IP', value: '1.2.3.4' },
      { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'hf', key: 'token' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    expect(containerEnv(spec())).toEqual([]);
    // A copy: editing the rendered env does not touch the spec.
    (env[0] as { value: string }).value = 'changed';
    expect(s.env[0]?.value).toBe('1.2.3.4');
  });

  it('gives the startup probe room to load the model: ceil(startupSeconds / period) failures', () => {
    const p = engineProbes(spec({ startupSeconds: 1805, port: 9000 })) as Record<string, { httpGet: unknown; failureThreshold: number; periodSeconds: number }>;
    expect(p.startupProbe).toMatchObject({ httpGet: { path: '/health', port: 9000 }, periodSeconds: PROBE_PERIOD_SECONDS, failureThreshold: 181 });
    expect(p.readinessProbe).toMatchObject({ httpGet: { path: '/health', port: 9000 }, failureThreshold: 3 });
    expect(p.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 9000 }, failureThreshold: 6 });
    expect((engineProbes(spec({ startupSeconds: 10 })) as typeof p).startupProbe?.failureThreshold).toBe(1);
  });
});

describe('scheduling', () => {
  it('adds the GPU product label to the node selector and tolerates the GPU taint', () => {
    expect(scheduling(spec({ nodeSelector: { pool: 'gpu' }, gpuType: 'NVIDIA-H100-80GB-HBM3' }))).toEqual({
      nodeSelector: { pool: 'gpu', [GPU_PRODUCT_LABEL]: 'NVIDIA-H100-80GB-HBM3' },
      tolerations: [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }],
    });
  });

  it('leaves out an empty node selector and keeps a GPU toleration of the spec instead of adding one', () => {
    const own = { key: GPU_RESOURCE, operator: 'Equal' as const, value: 'present', effect: 'NoExecute' as const };
    const s = spec({ tolerations: [own, { key: 'dedicated', operator: 'Exists' as const }] });
    const out = scheduling(s);
    expect(out).not.toHaveProperty('nodeSelector');
    expect(out.tolerations).toEqual([own, { key: 'dedicated', operator: 'Exists' }]);
    expect(s.tolerations).toHaveLength(2);
  });

  it('keeps pods off the avoided nodes with a required NotIn on the node name, sorted and without repeats', () => {
    const out = scheduling(spec(), ['n3', 'n1', 'n3']);
    expect(out.affinity).toEqual({
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1', 'n3'] }] }] } },
    });
    expect(scheduling(spec(), [])).not.toHaveProperty('affinity');
    expect(scheduling(spec())).not.toHaveProperty('affinity');
  });
});
