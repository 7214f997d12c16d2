import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { kedaScaledObject } from '../../../src/cli/commands/optimize-keda.js';
import { CRD_DIR, createCrdAjv, toJsonSchema } from '../../chaos/crd-schema.js';
import { cli } from '../../helpers/cli.js';

const KEDA_CRD = join(CRD_DIR, 'keda.sh_scaledobjects.yaml');
const HAVE_KEDA = existsSync(KEDA_CRD);

/** The ScaledObject CRD's verdict ([] when valid), as the API server would give it with strict field validation. */
function kedaErrors(obj: unknown): string[] {
  const crd = parse(readFileSync(KEDA_CRD, 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: unknown } }[] } };
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
  if (version === undefined) throw new Error('keda CRD has no v1alpha1');
  const validate = createCrdAjv().compile(toJsonSchema(version.schema.openAPIV3Schema) as object);
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

const opts = { control: 'http://brixlet-coordinator.brixlet:8081/', namespace: 'llm', deployment: 'llama-a10', minReplicas: 0, maxReplicas: 8, pollingInterval: 15 };

describe('brixlet optimize keda', () => {
  it('builds a metrics-api ScaledObject reading replicas from the deployment\'s optimizer JSON, targetValue 1', () => {
    const o = kedaScaledObject(opts) as { metadata: { name: string; namespace: string }; spec: { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] } };
    expect(o.metadata).toMatchObject({ name: 'llama-a10-gpu-optimizer', namespace: 'llm' });
    expect(o.spec.scaleTargetRef.name).toBe('llama-a10');
    expect(o.spec.minReplicaCount).toBe(0);
    expect(o.spec.triggers).toEqual([
      {
        type: 'metrics-api',
        metricType: 'AverageValue',
        metadata: { url: 'http://brixlet-coordinator.brixlet:8081/v1/optimizer/deployments/llm/llama-a10', format: 'json', valueLocation: 'replicas', targetValue: '1' },
      },
    ]);
  });

  it.skipIf(!HAVE_KEDA)(`is valid against KEDA's ScaledObject CRD${HAVE_KEDA ? '' : ` (SKIPPED: ${KEDA_CRD} not found; set BRIXLET_TESTDATA)`}`, () => {
    expect(kedaErrors(kedaScaledObject(opts))).toEqual([]);
    // The check has teeth: a field KEDA does not know, and a non-string trigger value, are refused.
    expect(kedaErrors({ ...kedaScaledObject(opts), spec: { ...(kedaScaledObject(opts).spec as object), replicas: 3 } })).not.toEqual([]);
    const bad = kedaScaledObject(opts) as { spec: { triggers: { metadata: Record<string, unknown> }[] } };
    bad.spec.triggers[0]!.metadata.targetValue = 1;
    expect(kedaErrors(bad)).not.toEqual([]);
  });

  it.skipIf(!HAVE_KEDA)('prints one valid ScaledObject per deployment named as YAML', async () => {
    const r = await cli(['optimize', 'keda', '--control', 'http://coord:8081', '--namespace', 'llm', '--deployment', 'llama-a10,llama-l20', '--max-replicas', '4']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { metadata: { name: string }; spec: { maxReplicaCount: number } });
    expect(docs.map((d) => d.metadata.name)).toEqual(['llama-a10-gpu-optimizer', 'llama-l20-gpu-optimizer']);
    expect(docs.every((d) => d.spec.maxReplicaCount === 4)).toBe(true);
    for (const d of docs) expect(kedaErrors(d)).toEqual([]);
  });

  it('refuses a missing control URL or deployment, and bad counts (exit 2)', async () => {
    expect((await cli(['optimize', 'keda', '--deployment', 'x'])).code).toBe(2);
    expect((await cli(['optimize', 'keda', '--control', 'http://c:8081'])).code).toBe(2);
    const bad = await cli(['optimize', 'keda', '--control', 'http://c:8081', '--deployment', 'x', '--max-replicas', '-1']);
    expect(bad.code).toBe(2);
    expect((await cli(['optimize', 'keda', '--control', 'http://c:8081', '--deployment', 'Bad_Name'])).stderr).toMatch(/not a Kubernetes name/);
  });
});
