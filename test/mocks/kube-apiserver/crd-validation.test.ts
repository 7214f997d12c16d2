// The fake API server validating custom resources like the real one (validateCustomResources):
// the ModelFleet CRD's schema and its CEL rules (evaluated by @marcbachmann/cel-js through the
// engine option), through the real @kubernetes/client-node.
import { request } from 'node:https';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type ApiException } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type StoredObject } from '../../../mocks/kube-apiserver/index.js';
import { fleet, fleetCrdYaml } from '../../coordinator/orchestrator/fleet-fixtures.js';
import { celJsEngine } from '../../helpers/cel-engine.js';

const fleets = { group: 'brixlet.io', version: 'v1alpha1', namespace: 'serving', plural: 'modelfleets' };
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const PARALLELISM = 'spec.tensorParallelSize × spec.pipelineParallelSize must equal spec.gpusPerNode × spec.nodesPerReplica';

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startFakeApiServer>[0]): Promise<CustomObjectsApi> {
  server = await startFakeApiServer({ namespace: 'serving', ...options });
  server.installCrd(fleetCrdYaml());
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return kc.makeApiClient(CustomObjectsApi);
}

/** The Status a rejected call answered. */
async function statusOf(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string; details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field: string }[] } }> {
  try {
    await p;
  } catch (err) {
    return JSON.parse((err as ApiException<unknown>).body as string) as never;
  }
  throw new Error('the call succeeded');
}

/** A raw POST, for what the client hides (Warning headers). */
function rawPost(s: FakeApiServer, path: string, body: unknown): Promise<{ status: number; warning: string | string[] | undefined; body: StoredObject }> {
  return new Promise((resolve, reject) => {
    const req = request(`${s.url}${path}`, { method: 'POST', ca: s.ca, headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, warning: res.headers.warning, body: JSON.parse(text) as StoredObject }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('validateCustomResources with a CEL engine', () => {
  it('accepts a good ModelFleet and refuses one whose parallelism does not add up with the CRD’s own message', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const created = await api.createNamespacedCustomObject({ ...fleets, body: fleet() });
    expect(created.metadata.uid).toBeTypeOf('string');
    const st = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ pipelineParallelSize: 1 }, 'bad') }));
    expect(st).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'bad', group: 'brixlet.io', kind: 'ModelFleet' } });
    expect(st.message).toBe(`ModelFleet.brixlet.io "bad" is invalid: spec: Invalid value: "object": ${PARALLELISM}`);
    expect(st.details?.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec', message: `Invalid value: "object": ${PARALLELISM}` }]);
    expect(server!.store.get('modelfleets.brixlet.io', 'serving', 'bad')).toBeUndefined();
  });

  it('checks patches, replacements and nested rules on the object as it would be stored, leaving the stored one alone', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    await api.createNamespacedCustomObject({ ...fleets, body: fleet() });
    const patched = await statusOf(api.patchNamespacedCustomObject({ ...fleets, name: 'llama', body: { spec: { nodesPerReplica: 4 } } }, merge));
    expect(patched.details?.causes?.map((c) => c.field)).toEqual(['spec']);
    const env = await statusOf(
      api.patchNamespacedCustomObject({ ...fleets, name: 'llama', body: { spec: { env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], rollout: { maxSurge: 0, maxUnavailable: '0%' } } } }, merge),
    );
    expect(env.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.env[0]', message: 'Invalid value: "object": an env entry takes value or valueFrom, not both' },
      { reason: 'FieldValueInvalid', field: 'spec.rollout', message: 'Invalid value: "object": spec.rollout.maxSurge and spec.rollout.maxUnavailable must not both be 0: the rollout could never take a step' },
    ]);
    const current = await api.getNamespacedCustomObject({ ...fleets, name: 'llama' });
    const replaced = await statusOf(api.replaceNamespacedCustomObject({ ...fleets, name: 'llama', body: { ...current, spec: { ...current.spec, port: 8265 } } }));
    expect(replaced.details?.causes?.[0]?.message).toContain('spec.port must not be a port the Ray head uses');
    expect((await api.getNamespacedCustomObject({ ...fleets, name: 'llama' })).metadata.resourceVersion).toBe(current.metadata.resourceVersion);
    const ok = await api.patchNamespacedCustomObject({ ...fleets, name: 'llama', body: { spec: { replicas: 3 } } }, merge);
    expect(ok.spec.replicas).toBe(3);
  });

  it('reports a root-level rule at <nil>, as the real server does', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const st = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ backend: 'lws' }, 'a'.repeat(48)) }));
    expect(st.details?.causes).toEqual([expect.objectContaining({ field: '<nil>', message: expect.stringContaining('metadata.name may have at most 47 characters') as unknown })]);
  });

  it('names each field the schema refuses, and skips CEL when a value has the wrong type', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const st = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ model: undefined as never, backend: 'slurm' as never, port: 70000 }) }));
    expect(st.code).toBe(422);
    expect(st.details?.causes).toEqual(
      expect.arrayContaining([
        { reason: 'FieldValueRequired', field: 'spec.model', message: 'Required value' },
        { reason: 'FieldValueNotSupported', field: 'spec.backend', message: 'Unsupported value: "slurm": supported values: "ray", "lws"' },
        expect.objectContaining({ reason: 'FieldValueInvalid', field: 'spec.port' }),
      ]),
    );
    const typed = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ gpusPerNode: 7.5 }) }));
    expect(typed.details?.causes?.map((c) => [c.reason, c.field])).toEqual([
      ['FieldValueTypeInvalid', 'spec.gpusPerNode'],
      ['FieldValueInvalid', '<nil>'],
    ]);
    expect(typed.details?.causes?.[1]?.message).toContain('some validation rules were not checked');
  });

  it('validates status subresource writes against the status schema', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    await api.createNamespacedCustomObject({ ...fleets, body: fleet() });
    const st = await statusOf(api.patchNamespacedCustomObjectStatus({ ...fleets, name: 'llama', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, merge));
    expect(st.details?.causes).toEqual([expect.objectContaining({ reason: 'FieldValueNotSupported', field: 'status.conditions[0].type' })]);
    const ok = await api.patchNamespacedCustomObjectStatus({ ...fleets, name: 'llama', body: { status: { replicas: 1, readyReplicas: 1 } } }, merge);
    expect(ok.status).toEqual({ replicas: 1, readyReplicas: 1 });
  });

  it('drops unknown fields with a Warning by default and refuses them with fieldValidation=Strict', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const res = await rawPost(server!, '/apis/brixlet.io/v1alpha1/namespaces/serving/modelfleets', fleet({ replcas: 2 }));
    expect(res.status).toBe(201);
    expect(res.warning).toBe('299 - "unknown field \\"spec.replcas\\""');
    expect(res.body.spec).not.toHaveProperty('replcas');
    const strict = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ replcas: 2 }, 'strict'), fieldValidation: 'Strict' }));
    expect(strict).toMatchObject({ code: 400, reason: 'BadRequest', message: 'strict decoding error: unknown field "spec.replcas"' });
  });

  it('evaluates transition rules (oldSelf) on updates only', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const crd = (await import('yaml')).parse(fleetCrdYaml()) as { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, Record<string, unknown>> } } } } }[] } };
    crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.model!['x-kubernetes-validations'] = [{ rule: 'self == oldSelf', message: 'spec.model is immutable' }];
    server!.installCrd(crd as unknown as StoredObject);
    await api.createNamespacedCustomObject({ ...fleets, body: fleet() });
    const st = await statusOf(api.patchNamespacedCustomObject({ ...fleets, name: 'llama', body: { spec: { model: 'other/model' } } }, merge));
    expect(st.details?.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.model', message: 'Invalid value: "string": spec.model is immutable' }]);
    expect((await api.patchNamespacedCustomObject({ ...fleets, name: 'llama', body: { spec: { replicas: 2 } } }, merge)).spec.replicas).toBe(2);
  });

  it('answers a write of a kind whose CRD rule does not compile with a 500 naming the rule', async () => {
    const api = await start({ validateCustomResources: true, cel: celJsEngine });
    const crd = (await import('yaml')).parse(fleetCrdYaml()) as { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }[] } };
    crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'] = [{ rule: 'self.tensorParalelSize > 0', message: 'typo' }];
    server!.installCrd(crd as unknown as StoredObject);
    const st = await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet() }));
    expect(st.code).toBe(500);
    expect(st.message).toContain('CEL rule at spec does not compile: self.tensorParalelSize > 0');
  });
});

describe('validateCustomResources without a CEL engine, and off', () => {
  it('enforces the schema only when no engine is given', async () => {
    const api = await start({ validateCustomResources: true });
    await api.createNamespacedCustomObject({ ...fleets, body: fleet({ pipelineParallelSize: 1 }) });
    expect((await statusOf(api.createNamespacedCustomObject({ ...fleets, body: fleet({ backend: 'slurm' as never }, 'b') }))).code).toBe(422);
  });

  it('stores anything when off (the default), as before', async () => {
    const api = await start({});
    await api.createNamespacedCustomObject({ ...fleets, body: fleet({ pipelineParallelSize: 1, backend: 'slurm' as never, replcas: 2 }) });
    expect(server!.store.get('modelfleets.brixlet.io', 'serving', 'llama')?.spec).toMatchObject({ backend: 'slurm', replcas: 2 });
  });

  it('leaves kinds registered without a CRD alone', async () => {
    server = await startFakeApiServer({ validateCustomResources: true, cel: celJsEngine, resources: [{ group: 'ray.io', version: 'v1', kind: 'RayCluster', plural: 'rayclusters', namespaced: true }] });
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    const api = kc.makeApiClient(CustomObjectsApi);
    const out = await api.createNamespacedCustomObject({ group: 'ray.io', version: 'v1', namespace: 'default', plural: 'rayclusters', body: { metadata: { name: 'r' }, anything: 1 } });
    expect(out.anything).toBe(1);
  });
});

describe('validateCustomResources: the implicit root fields', () => {
  it('accepts apiVersion, kind and metadata under a schema that lists only spec (no unknown-field warning, Strict passes)', async () => {
    server = await startFakeApiServer({ namespace: 'serving', validateCustomResources: true });
    server.installCrd({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.io' },
      spec: {
        group: 'example.io',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
      },
    });
    const body = { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'b' } }, spec: { size: 2 } };
    const warned = await rawPost(server, '/apis/example.io/v1/namespaces/serving/widgets', body);
    expect(warned.status).toBe(201);
    expect(warned.warning).toBeUndefined();
    const strict = await rawPost(server, '/apis/example.io/v1/namespaces/serving/widgets?fieldValidation=Strict', { ...body, metadata: { name: 'w2' } });
    expect(strict.status).toBe(201);
    // A field the schema does not list is still unknown.
    const unknown = await rawPost(server, '/apis/example.io/v1/namespaces/serving/widgets?fieldValidation=Strict', { ...body, metadata: { name: 'w3' }, extra: 1 });
    expect(unknown.status).toBe(400);
  });
});
