import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import type { NodeReport } from '../../../src/common/node-report.js';
import { capsFor, deploymentFromKube, gpuModelToken, parseDeployments, parseTypeCounts, reportedGpus } from '../../../src/coordinator/optimizer/deployments.js';

const refused = (fn: () => unknown, re: RegExp): void => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isBrixletError(err, 'BRX_ERR_OPTIMIZER_CONFIG')).toBe(true);
  expect((err as Error).message).toMatch(re);
};

const gpu = (name: string, health: 'healthy' | 'unhealthy' = 'healthy') => ({ vendor: 'nvidia' as const, index: 0, uuid: `GPU-${name}`, name, health, reasons: [] });
const node = (name: string, accelerators: ReturnType<typeof gpu>[]): NodeReport => ({ name, agentUrl: `http://${name}:9464`, version: '1', components: [], accelerators });

describe('optimizer deployments and caps', () => {
  it('parses [NS/]NAME=[MODEL@]GPU[:REPLICAS]', () => {
    expect(parseDeployments('prod/llama-a10=llama@a10:2, llama-l20=l20', 'default')).toEqual([
      { namespace: 'prod', name: 'llama-a10', model: 'llama', gpu: 'a10', replicas: 2 },
      { namespace: 'default', name: 'llama-l20', gpu: 'l20' },
    ]);
    expect(parseDeployments('', 'default')).toEqual([]);
    refused(() => parseDeployments('llama-a10', 'default'), /is not \[NAMESPACE\/\]NAME=\[MODEL@\]GPU\[:REPLICAS\]/);
    refused(() => parseDeployments('Llama=a10', 'default'), /name 'Llama' is not a Kubernetes name/);
    refused(() => parseDeployments('a=a10,a=l20', 'default'), /names default\/a twice/);
  });

  it('parses GPU=COUNT lists, naming the flag', () => {
    expect(parseTypeCounts('a10=4, l20=8', '--optimizer.available')).toEqual({ a10: 4, l20: 8 });
    refused(() => parseTypeCounts('a10=-1', '--optimizer.available'), /--optimizer.available entry 'a10=-1'/);
    refused(() => parseTypeCounts('a10=1,a10=2', '--optimizer.min'), /--optimizer.min names a10 twice/);
  });

  it('matches GPU types to the device models the agents report', () => {
    expect(gpuModelToken('NVIDIA A100-SXM4-80GB')).toBe('a100');
    expect(gpuModelToken('NVIDIA L20')).toBe('l20');
    expect(gpuModelToken('Tesla V100-PCIE-32GB')).toBe('v100');
    expect(gpuModelToken('Ascend910B')).toBe('ascend910b');
    const reported = reportedGpus([
      { report: node('n1', [gpu('NVIDIA A10'), gpu('NVIDIA A10'), gpu('NVIDIA A10', 'unhealthy')]), stale: false },
      { report: node('n2', [gpu('NVIDIA L20'), gpu('NVIDIA A100-SXM4-80GB')]), stale: false },
      { report: node('n3', [gpu('NVIDIA L20')]), stale: true },
    ]);
    expect([...reported].sort()).toEqual([['a10', 2], ['a100', 1], ['l20', 1]]);
    // The flag for the types it names; else the reports (an A100 is not an A10; a type nothing matches exists 0 times); else no cap.
    expect(capsFor(['a10', 'llama-7b-a100', 'h100'], {}, reported)).toEqual({ a10: 2, 'llama-7b-a100': 1, h100: 0 });
    expect(capsFor(['a10', 'h100'], { h100: 3 }, reported)).toEqual({ a10: 2, h100: 3 });
    expect(capsFor(['a10'], {}, new Map())).toEqual({ a10: undefined });
  });
});

describe('deployments from Kubernetes', () => {
  it('reads model, GPU type, replicas and floor from a labelled Deployment', () => {
    const dep = (labels: Record<string, string>, replicas?: number, extra: object = {}) => ({ metadata: { name: 'llama-a10', namespace: 'llm', labels, ...extra }, spec: replicas === undefined ? {} : { replicas } });
    expect(deploymentFromKube(dep({ 'model.aibrix.ai/name': 'llama', 'model.aibrix.ai/min_replicas': '1' }, 3))).toEqual({ namespace: 'llm', name: 'llama-a10', model: 'llama', gpu: 'llama-a10', replicas: 3, min: 1 });
    expect(deploymentFromKube(dep({ 'model.aibrix.ai/name': 'llama', 'brixlet.io/gpu-type': 'a10', 'model.aibrix.ai/min_replicas': 'x' }))).toEqual({ namespace: 'llm', name: 'llama-a10', model: 'llama', gpu: 'a10', replicas: 1 });
    expect(deploymentFromKube(dep({ app: 'vllm' }, 2))).toBeUndefined();
    expect(deploymentFromKube(dep({ 'model.aibrix.ai/name': 'llama' }, 2, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBeUndefined();
  });
});
