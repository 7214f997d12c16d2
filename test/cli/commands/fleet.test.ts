import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { FLEET_CRD_PATH } from '../../../src/cli/commands/fleet.js';
import { cli } from '../../helpers/cli.js';
import { CRD_DIR, haveCrd, SKIP_REASON } from '../../chaos/crd-schema.js';
import { EXAMPLES_DIR, FLEET_CRD_FILE, fleet } from '../../coordinator/orchestrator/fleet-fixtures.js';

let dir: string;
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const example = (name: string) => join(EXAMPLES_DIR, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'brixlet-fleet-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('brixlet fleet render', () => {
  it('finds the shipped ModelFleet CRD from the package root', () => {
    expect(FLEET_CRD_PATH).toBe(FLEET_CRD_FILE);
  });

  it('prints the RayClusters of a ray fleet as YAML documents and says which were not validated', async () => {
    const r = await cli(['fleet', 'render', '-f', example('deepseek-r1-tp8-pp2-tcp-ray.yaml')], { BRIXLET_CRD_DIR: undefined });
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs.map((d) => d.kind)).toEqual(['RayCluster', 'RayCluster']);
    expect(docs[0]!.metadata.name).toMatch(/^deepseek-r1-tcp-[a-z0-9]{10}-[a-z0-9]{5}$/);
    // Plain YAML a reader can follow: the head and worker share objects, but no anchors or aliases.
    expect(r.stdout).not.toMatch(/(?:^|\s)[&*]a\d+\b/m);
    expect(r.stderr).toContain('not validated (no RayCluster CRD; pass --crd-dir DIR or set BRIXLET_CRD_DIR): RayCluster serving/deepseek-r1-tcp-');
    expect(r.stderr).toContain('get it with: kubectl get crd rayclusters.ray.io -o yaml > DIR/ray.io_rayclusters.yaml');
  });

  it('names the directory when it holds no CRD of a kind (scanning every YAML file for one)', async () => {
    const empty = join(dir, 'no-crds');
    mkdirSync(empty);
    writeFileSync(join(empty, 'other.yaml'), 'apiVersion: v1\nkind: ConfigMap\n');
    const r = await cli(['fleet', 'render', '-f', example('llama-3.1-405b-lws.yaml'), '--crd-dir', empty]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`not validated (no LeaderWorkerSet CRD in ${empty}): LeaderWorkerSet serving/llama-405b-lws`);
    expect(r.stderr).toContain(`kubectl get crd leaderworkersets.leaderworkerset.x-k8s.io -o yaml > ${join(empty, 'leaderworkerset.x-k8s.io_leaderworkersets.yaml')}`);
  });

  it('renders several files at once, and prints JSON with --json', async () => {
    const r = await cli(['fleet', 'render', '-f', example('llama-3.1-405b-ray.yaml'), '-f', example('llama-3.1-405b-lws.yaml'), '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { kind: string }[]).map((o) => o.kind)).toEqual(['RayCluster', 'LeaderWorkerSet']);
  });

  it.skipIf(!haveCrd('RayCluster') || !haveCrd('LeaderWorkerSet'))(`validates the output against the CRDs in --crd-dir, by file name or by kind${SKIP_REASON}`, async () => {
    const crds = join(dir, 'crds');
    mkdirSync(crds);
    copyFileSync(join(CRD_DIR, 'ray.io_rayclusters.yaml'), join(crds, 'ray.io_rayclusters.yaml'));
    copyFileSync(join(CRD_DIR, 'leaderworkerset.x-k8s.io_leaderworkersets.yaml'), join(crds, 'lws.yaml'));
    const ok = await cli(['fleet', 'render', '-f', example('llama-3.1-405b-ray.yaml'), '-f', example('llama-3.1-405b-lws.yaml'), '--crd-dir', crds]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    // A CRD without the field brixlet renders (as an older KubeRay's lacks upgradeStrategy) fails the render.
    const old = parse(await import('node:fs').then((fs) => fs.readFileSync(join(CRD_DIR, 'ray.io_rayclusters.yaml'), 'utf8'))) as { spec: { versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] } };
    delete old.spec.versions.find((v) => v.name === 'v1')!.schema.openAPIV3Schema.properties.spec.properties.upgradeStrategy;
    const oldDir = join(dir, 'old');
    mkdirSync(oldDir);
    writeFileSync(join(oldDir, 'ray.io_rayclusters.yaml'), stringify(old));
    const bad = await cli(['fleet', 'render', '-f', example('llama-3.1-405b-ray.yaml')], { BRIXLET_CRD_DIR: oldDir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('RayCluster serving/llama-405b-');
    expect(bad.stderr).toContain('/spec additionalProperties must NOT have additional properties {"additionalProperty":"upgradeStrategy"}');
    expect(bad.stderr).toContain('[BRX_ERR_KUBE_INVALID]');
    expect(bad.stdout).toBe('');
  });

  it('rejects an invalid fleet with every problem, naming file, document and field, and exit 2', async () => {
    const good = stringify(fleet());
    const bad = stringify(fleet({ pipelineParallelSize: 1, replcas: 3, port: 8080 }, 'bad'));
    const r = await cli(['fleet', 'render', '-f', file('two.yaml', `${good}---\n${bad}---\nkind: ConfigMap\n`)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const f = join(dir, 'two.yaml');
    expect(r.stderr).toContain(`invalid ModelFleet ${f}: 4 problem(s):`);
    expect(r.stderr).toContain(`${f} document 2: spec.replcas: unknown field (did you mean spec.replicas?)`);
    expect(r.stderr).toContain(`${f} document 2: spec.tensorParallelSize × spec.pipelineParallelSize = 8 × 1 = 8 must equal spec.gpusPerNode × spec.nodesPerReplica = 8 × 2 = 16`);
    expect(r.stderr).toContain(`${f} document 2: spec.port: 8080 is a port the Ray head uses`);
    expect(r.stderr).toContain(`${f} document 3: kind "ConfigMap" is not ModelFleet`);
    expect(r.stderr).toContain('[BRX_ERR_FLEET_INVALID]');
    expect(r.stderr).toContain('fix: Fix every listed field');
  });

  it('says what is wrong with the command line', async () => {
    expect((await cli(['fleet'])).stderr).toContain("missing subcommand for 'brixlet fleet'; valid: render");
    expect((await cli(['fleet', 'apply'])).stderr).toContain("unknown subcommand 'apply'");
    const noFile = await cli(['fleet', 'render']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("'brixlet fleet render' needs -f FILE");
    expect((await cli(['fleet', 'render', '-f', join(dir, 'missing.yaml')])).stderr).toContain('cannot read');
    expect((await cli(['fleet', 'render', '-f', file('bad.yaml', 'a: [1')])).stderr).toMatch(/not valid YAML or JSON/);
    expect((await cli(['fleet', 'render', '-f', file('empty.yaml', '')])).stderr).toContain('no objects in the file(s)');
  });

  it('has help that explains the resource, the backends and where CRDs come from', async () => {
    const r = await cli(['fleet', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['brixlet fleet render -f FILE', 'tensorParallelSize × pipelineParallelSize = gpusPerNode × nodesPerReplica', 'kubectl get crd rayclusters.ray.io -o yaml', 'BRIXLET_CRD_DIR', 'examples/fleets/']) {
      expect(r.stdout).toContain(s);
    }
    expect((await cli(['--help'])).stdout).toContain('fleet');
  });
});
