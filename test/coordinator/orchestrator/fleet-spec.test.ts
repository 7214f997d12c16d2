import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { FLEET_CEL_RULES } from '../../../src/coordinator/orchestrator/fleet-rules.js';
import { defaultServedName, FLEET_DEFAULTS, fleetDefaults, fleetProblems, validateFleet } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { compileCelRules, celRulesOf } from '../../../mocks/kube-apiserver/cel-rules.js';
import { compileCrd } from '../../../src/kube/crd-schema.js';
import { crdStructuralProblems } from '../../../src/kube/crd-structural.js';
import { celJsEngine, crdCelFailures, crdVersionSchema } from '../../helpers/cel-engine.js';
import { repoRoot } from '../../helpers/repo.js';
import { fleet, fleetCrdDoc, fleetCrdYaml, without } from './fleet-fixtures.js';

describe('fleetDefaults', () => {
  it('fills every documented default', () => {
    const spec = fleetDefaults({ model: 'deepseek-ai/DeepSeek-R1', image: 'img', tensorParallelSize: 16, gpusPerNode: 8, nodesPerReplica: 2 });
    expect(spec).toEqual({
      model: 'deepseek-ai/DeepSeek-R1',
      servedModelName: 'deepseek-r1',
      image: 'img',
      tensorParallelSize: 16,
      pipelineParallelSize: 1,
      gpusPerNode: 8,
      nodesPerReplica: 2,
      replicas: 1,
      backend: 'ray',
      engineArgs: [],
      env: [],
      resources: {},
      nodeSelector: {},
      tolerations: [],
      port: 8000,
      rollout: { maxSurge: 0, maxUnavailable: 1, paused: false },
      restartBudget: { maxRestarts: 3, windowSeconds: 3600, backoffSeconds: 10, maxBackoffSeconds: 300 },
      startupSeconds: 1800,
      rayVersion: '2.40.0',
    });
  });

  it('keeps what is given, merging partial rollout and restart budget with their defaults', () => {
    const spec = fleetDefaults({ ...fleet().spec, servedModelName: 'x', replicas: 0, rollout: { maxSurge: '25%' }, restartBudget: { maxRestarts: 0 }, gpuType: 'NVIDIA-H100-80GB-HBM3' });
    expect(spec.servedModelName).toBe('x');
    expect(spec.replicas).toBe(0);
    expect(spec.rollout).toEqual({ maxSurge: '25%', maxUnavailable: 1, paused: false });
    expect(spec.restartBudget.maxRestarts).toBe(0);
    expect(spec.restartBudget.maxBackoffSeconds).toBe(300);
    expect(spec.gpuType).toBe('NVIDIA-H100-80GB-HBM3');
  });

  it('derives the served name from the last path segment, lower-cased', () => {
    expect(defaultServedName('meta-llama/Llama-3.1-405B-Instruct')).toBe('llama-3.1-405b-instruct');
    expect(defaultServedName('/models/Qwen2.5/')).toBe('qwen2.5');
    expect(defaultServedName('Mistral')).toBe('mistral');
  });

  it('copies lists and maps, so the fleet object is not shared with the spec', () => {
    const input = fleet({ engineArgs: ['--a'], nodeSelector: { a: 'b' } }).spec;
    const spec = fleetDefaults(input);
    (input.engineArgs as string[]).push('--b');
    (input.nodeSelector as Record<string, string>).c = 'd';
    expect(spec.engineArgs).toEqual(['--a']);
    expect(spec.nodeSelector).toEqual({ a: 'b' });
  });
});

describe('fleetProblems', () => {
  it('accepts a valid fleet', () => {
    expect(fleetProblems(fleet())).toEqual([]);
  });

  it('names both sides when the parallelism does not add up', () => {
    expect(fleetProblems(fleet({ pipelineParallelSize: 1, gpusPerNode: 8, nodesPerReplica: 2 }))).toEqual([
      'spec.tensorParallelSize × spec.pipelineParallelSize = 8 × 1 = 8 must equal spec.gpusPerNode × spec.nodesPerReplica = 8 × 2 = 16',
    ]);
    expect(fleetProblems(fleet({ pipelineParallelSize: undefined, tensorParallelSize: 16 }))).toEqual([]);
  });

  it('rejects more GPUs per node than any reporting node has, only when nodes report', () => {
    const f = fleet({ tensorParallelSize: 16, pipelineParallelSize: 1, gpusPerNode: 16, nodesPerReplica: 1 });
    expect(fleetProblems(f, { maxGpusPerNode: 8 })).toEqual(['spec.gpusPerNode 16 is more than any reporting node has (8)']);
    expect(fleetProblems(f, { maxGpusPerNode: 16 })).toEqual([]);
    expect(fleetProblems(f)).toEqual([]);
  });

  it('lists every problem at once, each with its field path', () => {
    const problems = fleetProblems(
      fleet({ image: '', tensorParallelSize: 0, backend: 'slurm' as never, port: 8265, replicas: -1, rollout: { maxSurge: 'lots' }, replcas: 2, env: [{ name: '1BAD' }, { name: 'A', value: 'x', valueFrom: {} }] }),
    );
    expect(problems).toEqual([
      'spec.replcas: unknown field (did you mean spec.replicas?)',
      'spec.image: must have 1 to 512 characters, got 0',
      'spec.tensorParallelSize: must be an integer from 1 to 1024, got 0',
      'spec.replicas: must be an integer from 0 to 1024, got -1',
      'spec.backend: must be ray or lws, got "slurm"',
      'spec.env[0].name: must be an environment variable name, got "1BAD"',
      'spec.env[1]: takes value or valueFrom, not both',
      'spec.rollout.maxSurge: must be a whole number >= 0 or a percent string like "25%", got "lots"',
    ]);
  });

  it('checks apiVersion, kind, metadata and a missing spec', () => {
    expect(fleetProblems({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'Bad_Name' } })).toEqual([
      'apiVersion: must be brixlet.io/v1alpha1, got "v1"',
      'kind: must be ModelFleet, got "Pod"',
      'metadata.name: must be lower-case letters, digits and "-", starting with a letter, got "Bad_Name"',
      'spec: is required',
    ]);
    expect(fleetProblems(null)).toEqual(['a ModelFleet must be an object, got null']);
    expect(fleetProblems(without(fleet(), 'metadata'))).toContain('metadata: is required (with a name)');
  });

  it('rejects names that would overflow 63 characters once backends derive names from them', () => {
    expect(fleetProblems(fleet({}, 'a'.repeat(64)))).toEqual(['metadata.name: must have 1 to 63 characters, got 64']);
    expect(fleetProblems(fleet({}, 'a'.repeat(63)))).toEqual([]);
    expect(fleetProblems(fleet({ backend: 'lws' }, 'a'.repeat(48)))[0]).toMatch(/^metadata\.name: has 48 characters; with spec\.backend lws at most 47/);
    expect(fleetProblems(fleet({ backend: 'lws' }, 'a'.repeat(47)))).toEqual([]);
  });

  it('rejects engine arguments that set a flag brixlet renders, in either spelling', () => {
    expect(fleetProblems(fleet({ engineArgs: ['--max-model-len', '8192', '--tensor_parallel_size=4', '--port'] }))).toEqual([
      'spec.engineArgs[2]: "--tensor_parallel_size=4" sets a flag brixlet renders from the spec; set the spec field instead',
      'spec.engineArgs[3]: "--port" sets a flag brixlet renders from the spec; set the spec field instead',
    ]);
  });

  it('rejects a Ray port for the engine with backend ray only', () => {
    expect(fleetProblems(fleet({ port: 8080 }))).toEqual(['spec.port: 8080 is a port the Ray head uses (6379, 8265, 10001, 8080, 52365); pick another with spec.backend ray']);
    expect(fleetProblems(fleet({ port: 8080, backend: 'lws' }))).toEqual([]);
  });

  it('rejects GPUs in resources, bad quantities, both rollout bounds at zero and a backoff cap below the first backoff', () => {
    expect(fleetProblems(fleet({ resources: { requests: { 'nvidia.com/gpu': '8', memory: 'lots' } } }))).toEqual([
      'spec.resources.requests["memory"]: must be a quantity such as "16", "64Gi" or "500m", got "lots"',
      'spec.resources.requests["nvidia.com/gpu"]: is set by brixlet from spec.gpusPerNode; remove it',
    ]);
    expect(fleetProblems(fleet({ rollout: { maxUnavailable: 0 } }))).toEqual(['spec.rollout: maxSurge and maxUnavailable must not both be 0: the rollout could never take a step']);
    expect(fleetProblems(fleet({ rollout: { maxUnavailable: '0%', maxSurge: '0%' } }))).toHaveLength(1);
    expect(fleetProblems(fleet({ rollout: { maxUnavailable: 0, maxSurge: 1 } }))).toEqual([]);
    expect(fleetProblems(fleet({ restartBudget: { backoffSeconds: 600 } }))).toEqual(['spec.restartBudget.maxBackoffSeconds: 300 must be at least spec.restartBudget.backoffSeconds (600)']);
  });
});

describe('validateFleet', () => {
  it('returns the fleet with its spec after defaults', () => {
    const v = validateFleet(fleet());
    expect(v.metadata.name).toBe('llama');
    expect(v.spec.servedModelName).toBe('llama-3.1-405b-instruct');
    expect(v.spec.rollout.maxUnavailable).toBe(1);
  });

  it('throws BRX_ERR_FLEET_INVALID with every problem in the message and the details', () => {
    try {
      validateFleet(fleet({ tensorParallelSize: 3, image: undefined as never }), { maxGpusPerNode: 4 });
      expect.unreachable();
    } catch (err) {
      expect(isBrixletError(err, 'BRX_ERR_FLEET_INVALID')).toBe(true);
      const e = err as { message: string; details: string[]; exitCode: number };
      expect(e.message).toMatch(/^invalid ModelFleet serving\/llama: 3 problem\(s\): spec\.image: is required; spec\.tensorParallelSize × /);
      expect(e.details).toHaveLength(3);
      expect(e.details[2]).toBe('spec.gpusPerNode 8 is more than any reporting node has (4)');
      expect(e.exitCode).toBe(2);
    }
  });
});

describe('the ModelFleet CRD', () => {
  const crd = compileCrd(fleetCrdYaml());
  const celOf = (node: Record<string, unknown>): { rule: string; message: string }[] => (node['x-kubernetes-validations'] as { rule: string; message: string }[] | undefined) ?? [];

  /** Every CEL rule of the CRD with the schema path that holds it, in fleet-rules.ts's notation. */
  function crdRules(): { at: string; rule: string; message: string }[] {
    const root = ((fleetCrdDoc().spec as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] }).versions[0] as { schema: { openAPIV3Schema: Record<string, unknown> } }).schema.openAPIV3Schema;
    const out: { at: string; rule: string; message: string }[] = [];
    const walk = (node: Record<string, unknown>, at: string) => {
      for (const r of celOf(node)) out.push({ at, rule: r.rule, message: r.message });
      for (const [k, s] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(s, at === '' ? k : `${at}.${k}`);
      if (node.items) walk(node.items as Record<string, unknown>, `${at}[]`);
    };
    walk(root, '');
    return out;
  }

  it('is a structural schema the API server would accept', () => {
    expect(crdStructuralProblems(fleetCrdYaml())).toEqual([]);
  });

  it('has the names, scope, subresources and printer columns kubectl relies on', () => {
    const spec = fleetCrdDoc().spec as Record<string, unknown> & { versions: Record<string, unknown>[] };
    expect(spec.group).toBe('brixlet.io');
    expect(spec.scope).toBe('Namespaced');
    expect(spec.names).toMatchObject({ kind: 'ModelFleet', plural: 'modelfleets', shortNames: ['mf'] });
    const v = spec.versions[0] as Record<string, unknown>;
    expect(v.name).toBe('v1alpha1');
    expect(v.subresources).toEqual({ status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } });
    expect((v.additionalPrinterColumns as { name: string }[]).map((c) => c.name)).toEqual(['Backend', 'Replicas', 'Ready', 'Revision', 'Age']);
  });

  it('carries exactly the CEL rules fleet-rules.ts lists (which fleetProblems checks in TypeScript)', () => {
    const sortKey = (r: { at: string; rule: string }) => `${r.at} ${r.rule}`;
    expect(crdRules().sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(FLEET_CEL_RULES.map((r) => ({ ...r })).sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
  });

  it('declares the same defaults as fleetDefaults', () => {
    const props = ((fleetCrdDoc().spec as { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }> } } } } }[] }).versions[0]!.schema.openAPIV3Schema.properties.spec.properties);
    const defaults = Object.fromEntries(Object.entries(props).filter(([, s]) => s.default !== undefined && s.properties === undefined).map(([k, s]) => [k, s.default]));
    expect(defaults).toEqual({ pipelineParallelSize: 1, replicas: 1, backend: 'ray', port: 8000, startupSeconds: 1800, rayVersion: '2.40.0' });
    for (const group of ['rollout', 'restartBudget'] as const) {
      const nested = Object.fromEntries(Object.entries(props[group]!.properties!).map(([k, s]) => [k, s.default]));
      expect(nested).toEqual(FLEET_DEFAULTS[group]);
    }
  });

  // Each case: what the CRD's schema says (ajv), and whether a CEL rule of the CRD (mirrored in
  // fleetProblems) rejects it. TypeScript must reject exactly when one of the two does.
  const cases: [string, object, { schema: boolean; cel?: string }][] = [
    ['the Llama 405B shape', fleet(), { schema: true }],
    ['TP 16 across two nodes', fleet({ tensorParallelSize: 16, pipelineParallelSize: 1 }), { schema: true }],
    ['lws with percent bounds', fleet({ backend: 'lws', rollout: { maxSurge: '25%', maxUnavailable: '50%' } }), { schema: true }],
    ['quantities as strings and integers', fleet({ resources: { requests: { cpu: 32 as unknown as string, memory: '512Gi' }, limits: { memory: '1Ti' } } }), { schema: true }],
    ['tolerations, selector and GPU type', fleet({ tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }], nodeSelector: { pool: 'h100' }, gpuType: 'NVIDIA-H100-80GB-HBM3' }), { schema: true }],
    ['zero replicas', fleet({ replicas: 0 }), { schema: true }],
    ['TP 0', fleet({ tensorParallelSize: 0 }), { schema: false }],
    ['a fractional GPU count', fleet({ gpusPerNode: 7.5 }), { schema: false }],
    ['a missing model', fleet({ model: undefined as never }), { schema: false }],
    ['a typo in a field name', fleet({ replcas: 2 }), { schema: false }],
    ['an unknown backend', fleet({ backend: 'slurm' as never }), { schema: false }],
    ['an upper-case name', fleet({}, 'Llama'), { schema: false }],
    ['a 64-character name', fleet({}, 'a'.repeat(64)), { schema: false }],
    ['a duplicate env name', fleet({ env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), { schema: false }],
    ['a bad toleration effect', fleet({ tolerations: [{ effect: 'Never' as never }] }), { schema: false }],
    ['a bad quantity', fleet({ resources: { limits: { memory: 'lots' } } }), { schema: false }],
    ['an image with a space', fleet({ image: 'vllm openai' }), { schema: false }],
    ['a port out of range', fleet({ port: 70000 }), { schema: false }],
    ['TP × PP ≠ GPUs × nodes', fleet({ pipelineParallelSize: 1 }), { schema: true, cel: 'spec' }],
    ['a 48-character lws name', fleet({ backend: 'lws' }, 'a'.repeat(48)), { schema: true, cel: '' }],
    ['the Ray dashboard port for the engine', fleet({ port: 8265 }), { schema: true, cel: 'spec' }],
    ['--tensor-parallel-size in engineArgs', fleet({ engineArgs: ['--tensor-parallel-size=4'] }), { schema: true, cel: 'spec.engineArgs' }],
    ['value and valueFrom together', fleet({ env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] }), { schema: true, cel: 'spec.env[]' }],
    ['GPUs in resources', fleet({ resources: { limits: { 'nvidia.com/gpu': '8' } } }), { schema: true, cel: 'spec.resources' }],
    ['maxSurge "lots"', fleet({ rollout: { maxSurge: 'lots' } }), { schema: true, cel: 'spec.rollout.maxSurge' }],
    ['maxUnavailable -1', fleet({ rollout: { maxUnavailable: -1 } }), { schema: true, cel: 'spec.rollout.maxUnavailable' }],
    ['both rollout bounds 0', fleet({ rollout: { maxSurge: 0, maxUnavailable: 0 } }), { schema: true, cel: 'spec.rollout' }],
    ['backoff cap below the first backoff', fleet({ restartBudget: { backoffSeconds: 60, maxBackoffSeconds: 30 } }), { schema: true, cel: 'spec.restartBudget' }],
  ];

  it.each(cases)('agrees with fleetProblems on %s', (_what, obj, expected) => {
    const schemaProblems = crd.validate(obj);
    expect(schemaProblems.length === 0, schemaProblems.join('\n')).toBe(expected.schema);
    if (expected.cel !== undefined) expect(FLEET_CEL_RULES.some((r) => r.at === expected.cel)).toBe(true);
    const valid = expected.schema && expected.cel === undefined;
    expect(fleetProblems(obj).length === 0, fleetProblems(obj).join('\n')).toBe(valid);
    // The CRD's CEL rules, evaluated for real: where the schema holds (the API server evaluates CEL
    // only then), exactly the expected rule fails, with the message fleet-rules.ts lists for it.
    if (expected.schema) {
      const failures = crdCelFailures(fleetCrdYaml(), obj);
      expect(failures.map((f) => f.at)).toEqual(expected.cel === undefined ? [] : [expected.cel]);
      for (const f of failures) expect(FLEET_CEL_RULES.find((r) => r.at === f.at && r.rule === f.rule)?.message).toBe(f.message);
      expect(schemaProblems.length === 0 && failures.length === 0).toBe(valid);
    }
  });

  it('has CEL rules that all compile with self typed by their schema node, as the API server requires', () => {
    const schema = crdVersionSchema(fleetCrdYaml());
    expect(celRulesOf(schema)).toHaveLength(FLEET_CEL_RULES.length);
    expect(() => compileCelRules(schema, celJsEngine)).not.toThrow();
  });
});

describe('docs/orchestration.md', () => {
  it('has a row for every spec field of the CRD, nested rollout and restart budget fields by their dotted path', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'orchestration.md'), 'utf8');
    const rows = new Set([...doc.matchAll(/^\| `([a-zA-Z.]+)` \|/gm)].map((m) => m[1]));
    const props = (fleetCrdDoc().spec as { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, { properties?: Record<string, unknown> }> } } } } }[] }).versions[0]!.schema.openAPIV3Schema.properties.spec.properties;
    const fields = Object.entries(props).flatMap(([k, s]) => (s.properties && k !== 'resources' ? Object.keys(s.properties).map((n) => `${k}.${n}`) : [k]));
    expect(fields.filter((f) => !rows.has(f))).toEqual([]);
    expect([...rows].filter((r) => !fields.includes(r as string))).toEqual([]);
  });
});
