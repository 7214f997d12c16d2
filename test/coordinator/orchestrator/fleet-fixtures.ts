// ModelFleets for the orchestrator's render and validation tests, and the shipped CRD.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ModelFleet, ModelFleetSpecInput } from '../../../src/coordinator/orchestrator/types.js';
import { repoRoot } from '../../helpers/repo.js';

export const FLEET_CRD_FILE = join(repoRoot, 'chart', 'crds', 'brixlet.io_modelfleets.yaml');
export const EXAMPLES_DIR = join(repoRoot, 'examples', 'fleets');

export function fleetCrdYaml(): string {
  return readFileSync(FLEET_CRD_FILE, 'utf8');
}

export function fleetCrdDoc(): Record<string, unknown> {
  return parse(fleetCrdYaml()) as Record<string, unknown>;
}

/** A valid fleet: Llama 405B shape (TP 8 × PP 2 on 2 × 8 GPUs), with overrides merged into spec. */
export function fleet(spec: Partial<ModelFleetSpecInput> & Record<string, unknown> = {}, name = 'llama', extra: Record<string, unknown> = {}): ModelFleet {
  return {
    apiVersion: 'brixlet.io/v1alpha1',
    kind: 'ModelFleet',
    metadata: { name, namespace: 'serving' },
    spec: {
      model: 'meta-llama/Llama-3.1-405B-Instruct',
      image: 'vllm/vllm-openai:v0.8.5',
      tensorParallelSize: 8,
      pipelineParallelSize: 2,
      gpusPerNode: 8,
      nodesPerReplica: 2,
      ...spec,
    } as ModelFleetSpecInput,
    ...extra,
  };
}

/** Removes keys whose value is undefined (to drop a required field from a fixture). */
export function without<T extends object>(obj: T, ...keys: string[]): T {
  const copy = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as T;
}
