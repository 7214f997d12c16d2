// The Helm chart, rendered with the pinned helm (scripts/helm.mjs) for every chart/ci/*-values.yaml:
// lint, every object valid (kubernetes-models for core kinds and the Prometheus Operator's, the CRDs
// in chart/crds for custom ones), the schema and validate.yaml refusing bad values with a readable
// message, the agent and coordinator command lines accepted by brixlet's own argument parser and
// config loader, and least-privilege RBAC per toggle. Skips (with the reason) when helm cannot be fetched.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseArgs } from '../../src/cli/args.js';
import { commands } from '../../src/cli/run-cli.js';
import { HELP_OPTION } from '../../src/cli/types.js';
import { configFields } from '../../src/common/config/fields.js';
import { type LoadedConfig, loadConfig } from '../../src/common/config/load-config.js';
import { type Config, ConfigSchema } from '../../src/common/config/schema.js';
import { compileCrd } from '../../src/kube/crd-schema.js';
import { helmTemplate, pinnedHelm } from '../helpers/helm.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const chartDir = join(root, 'chart');
const valueSets = readdirSync(join(chartDir, 'ci')).filter((f) => f.endsWith('-values.yaml')).map((f) => f.replace(/-values\.yaml$/, '')).sort();
const NS = 'brx';
const KUBE = ['--kube-version', '1.30.0'];
const PROM_API = ['--api-versions', 'monitoring.coreos.com/v1'];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  ports?: { name?: string; containerPort: unknown }[];
  [k: string]: unknown;
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  priorityClassName?: string;
  tolerations?: unknown[];
  securityContext?: { runAsNonRoot?: boolean };
  initContainers?: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string }; projected?: { sources: { serviceAccountToken?: { audience?: string } }[] } }[];
  [k: string]: unknown;
}
interface Workload extends K8sObject {
  spec: { template: { spec: PodSpec }; updateStrategy?: { rollingUpdate?: { maxSurge?: number; maxUnavailable?: number } } };
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const { helm, helmMissing } = await pinnedHelm();
const withHelm = describe.skipIf(helm === undefined);
if (helm === undefined) console.warn(`chart tests skipped: ${helmMissing}`);

async function template(args: readonly string[]): Promise<{ ok: true; objects: K8sObject[] } | { ok: false; error: string }> {
  try {
    return { ok: true, objects: await helmTemplate<K8sObject>(helm as string, ['r', chartDir, '-n', NS, ...KUBE, ...args], helmEnv) };
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: string }).stderr ?? e) };
  }
}

async function render(args: readonly string[]): Promise<K8sObject[]> {
  const r = await template(args);
  if (!r.ok) throw new Error(r.error);
  return r.objects;
}

async function renderError(args: readonly string[]): Promise<string> {
  const r = await template(args);
  if (r.ok) throw new Error(`helm template ${args.join(' ')} rendered; an error was expected`);
  return r.error;
}

// helm writes its cache and config under HOME: a scratch one keeps the tests off the user's.
const helmHome = mkdtempSync(join(tmpdir(), 'brixlet-helm-home-'));
const helmEnv = { ...process.env, HOME: helmHome, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') };
afterAll(() => rmSync(helmHome, { recursive: true, force: true }));

const rendered = new Map<string, K8sObject[]>();
const find = <T extends K8sObject = K8sObject>(set: string, kind: string, name?: string): T[] =>
  (rendered.get(set) ?? []).filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as T[];
const agentDs = (set: string): Workload => {
  const [ds] = find<Workload>(set, 'DaemonSet', 'r-brixlet-agent');
  if (ds === undefined) throw new Error(`${set}: no agent DaemonSet`);
  return ds;
};
const coordinatorDeploy = (set: string): Workload => coordinatorDeployOf(rendered.get(set) ?? []);
const container = (w: Workload, name: string): Container => {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${w.metadata.name}: no container ${name}`);
  return c;
};
const rulesOf = (set: string): Rule[] => [...find(set, 'ClusterRole'), ...find(set, 'Role')].flatMap((r) => (r as unknown as { rules?: Rule[] }).rules ?? []);
const grants = (set: string, group: string, resource: string): string[] =>
  rulesOf(set)
    .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
    .flatMap((r) => r.verbs);

withHelm('helm chart', () => {
  beforeAll(async () => {
    await Promise.all(valueSets.map(async (set) => rendered.set(set, await render(['-f', join(chartDir, 'ci', `${set}-values.yaml`), ...PROM_API, '--include-crds']))));
  }, 120_000);

  it('has the value sets the issue names', () => {
    expect(valueSets).toEqual(['ascend', 'default', 'full', 'no-kv', 'sim-gpu']);
  });

  it.each(valueSets)('%s: helm lint passes', async (set) => {
    // helm lint has no --api-versions: the monitoring toggles (which need monitoring.coreos.com/v1) are linted off.
    const off = ['serviceMonitor', 'podMonitor', 'dashboards', 'prometheusRule'].flatMap((k) => ['--set', `monitoring.${k}.enabled=false`]);
    const { stdout } = await run(helm as string, ['lint', chartDir, '--strict', ...KUBE, '-f', join(chartDir, 'ci', `${set}-values.yaml`), ...off], { env: helmEnv });
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('default values render the agent DaemonSet, the coordinator Deployment and the ModelFleet CRD', () => {
    const kinds = (rendered.get('default') ?? []).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['DaemonSet/r-brixlet-agent', 'Deployment/r-brixlet-coordinator', 'CustomResourceDefinition/modelfleets.brixlet.io']));
    expect(kinds).toEqual(expect.arrayContaining(['Service/r-brixlet-agent', 'Service/r-brixlet-coordinator', 'Service/r-brixlet-gateway', 'Secret/r-brixlet-cluster-secret']));
  });

  it.each(valueSets)('%s: every rendered object is valid', async (set) => {
    const objects = rendered.get(set) ?? [];
    expect(objects.length).toBeGreaterThan(5);
    const crds = readdirSync(join(chartDir, 'crds')).map((f) => compileCrd(readFileSync(join(chartDir, 'crds', f), 'utf8')));
    const problems: string[] = [];
    for (const o of objects) {
      const where = `${o.kind}/${o.metadata?.name}`;
      if (o.metadata.namespace !== undefined) expect(o.metadata.namespace, where).toMatch(/^(brx|llm|chaos-testing)$/);
      const crd = crds.find((c) => c.apiVersion === o.apiVersion && c.kind === o.kind);
      if (crd !== undefined) {
        problems.push(...crd.validate(o).map((p) => `${where}: ${p}`));
        continue;
      }
      try {
        (await modelOf(o)).validate();
      } catch (e) {
        problems.push(`${where}: ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(valueSets)('%s: no field renders empty (a template branch that emitted a key without a value)', (set) => {
    const empty: string[] = [];
    const walk = (v: unknown, path: string): void => {
      if (v === null) empty.push(path);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    for (const o of rendered.get(set) ?? []) walk(o, `${o.kind}/${o.metadata.name}`);
    expect(empty).toEqual([]);
  });

  it('a broken object is reported invalid by the same check (the validation is not vacuous)', async () => {
    const ds = structuredClone(agentDs('default'));
    container(ds, 'agent').ports![0]!.containerPort = 'http';
    await expect((async () => (await modelOf(ds)).validate())()).rejects.toThrow(/containerPort must be integer/);
  });

  describe('agent DaemonSet', () => {
    it('tolerates GPU and Ascend taints, runs system-node-critical, never surges', () => {
      const ds = agentDs('default');
      const spec = ds.spec.template.spec;
      expect(spec.tolerations).toEqual(
        expect.arrayContaining([
          { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
          { key: 'huawei.com/Ascend910', operator: 'Exists', effect: 'NoSchedule' },
        ]),
      );
      expect(spec.priorityClassName).toBe('system-node-critical');
      expect(ds.spec.updateStrategy?.rollingUpdate).toEqual({ maxUnavailable: 1, maxSurge: 0 });
    });

    it('mounts the slab and socket directories from the host and hands them to the non-root agent', () => {
      const spec = agentDs('default').spec.template.spec;
      expect(spec.volumes).toEqual(
        expect.arrayContaining([
          { name: 'kv-dir', hostPath: { path: '/dev/shm/brixlet', type: 'DirectoryOrCreate' } },
          { name: 'run-dir', hostPath: { path: '/run/brixlet', type: 'DirectoryOrCreate' } },
        ]),
      );
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      const init = spec.initContainers?.find((c) => c.name === 'host-dirs');
      expect(init?.args ?? init?.command?.slice(3)).toEqual(['/run/brixlet:0755:65532:65532', '/dev/shm/brixlet:0750:65532:65532']);
      // Without KV there is no slab directory to mount.
      expect(agentDs('no-kv').spec.template.spec.volumes?.map((v) => v.name)).not.toContain('kv-dir');
    });

    it('asks for memory = base + KV capacity (prefault charges the slabs to the agent)', () => {
      expect(container(agentDs('default'), 'agent').resources).toMatchObject({ requests: { memory: '1536Mi' }, limits: { memory: '1536Mi' } });
      expect(container(agentDs('full'), 'agent').resources?.requests?.memory).toBe(`${512 + 65536}Mi`);
      expect(container(agentDs('no-kv'), 'agent').resources?.requests?.memory).toBe('512Mi');
    });

    it('reports with a projected token of audience brixlet that the coordinator is told to expect', () => {
      const spec = agentDs('default').spec.template.spec;
      const projected = spec.volumes?.find((v) => v.name === 'coordinator-token')?.projected;
      expect(projected?.sources[0]?.serviceAccountToken?.audience).toBe('brixlet');
      const args = container(coordinatorDeploy('default'), 'coordinator').args ?? [];
      expect(args).toEqual(expect.arrayContaining(['--control.auth=kubernetes', '--control.token-audience=brixlet', '--control.service-accounts=brx:r-brixlet-agent']));
      expect(container(agentDs('default'), 'agent').args).toEqual(
        expect.arrayContaining(['--agent.coordinator=http://r-brixlet-coordinator.brx.svc:8081', '--agent.coordinator-auth=kubernetes', '--agent.advertise-url=http://$(POD_IP):9464', '--kv.peer-advertise=$(POD_IP):9465']),
      );
    });

    it('grace period exceeds the shutdown timeout', () => {
      for (const set of valueSets) {
        const ds = agentDs(set);
        const grace = ds.spec.template.spec.terminationGracePeriodSeconds ?? 0;
        const timeout = (container(ds, 'agent').args ?? []).find((a) => a.startsWith('--shutdown.timeout='))?.split('=')[1] ?? '';
        const seconds = Number(timeout.replace(/s$/, ''));
        expect(Number.isFinite(seconds) && grace > seconds, `${set}: ${grace} > ${timeout}`).toBe(true);
      }
    });
  });

  describe('the command lines the chart renders are accepted by brixlet', () => {
    const samples: Record<string, string> = { NODE_NAME: 'gpu-node-1', POD_IP: '10.1.2.3' };
    const subst = (s: string) => s.replace(/\$\((\w+)\)/g, (_, v: string) => samples[v] ?? `$(${v})`);

    function load(c: Container): LoadedConfig<Config> {
      const [name, ...rest] = (c.args ?? []).map(subst);
      const cmd = commands.find((x) => x.name === name);
      if (cmd === undefined) throw new Error(`container ${c.name}: args do not start with a brixlet command (${name})`);
      const all = configFields(ConfigSchema);
      const fields = all.filter((f) => cmd.configSections.includes(f.segments[0] ?? ''));
      const parsed = parseArgs(rest, { command: cmd.name, fields, allFields: all, options: [...cmd.options, HELP_OPTION] });
      expect(parsed.positionals, `${c.name}: positionals`).toEqual(cmd.subcommands === undefined ? [] : parsed.positionals);
      const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, subst(e.value as string)]));
      return loadConfig({ env, flags: parsed.configFlags });
    }

    it.each(valueSets)('%s: agent and coordinator flags parse and load', (set) => {
      const agent = load(container(agentDs(set), 'agent')).config;
      expect(agent.agent.nodeName).toBe('gpu-node-1');
      const coordinator = load(container(coordinatorDeploy(set), 'coordinator')).config;
      expect(coordinator.control.port).toBe(8081);
      if (set === 'full') {
        expect(agent.kv.capacity).toBe(64 * 1024 ** 3);
        expect(agent.kv.peerAdvertise).toBe('10.1.2.3:9465');
        expect(agent.faults.enabled).toBe(true);
        expect(coordinator.orchestrator).toMatchObject({ enabled: true, namespace: 'llm', leaderElection: 'on' });
        expect(coordinator.control.nodeConditions).toBe(true);
        expect(coordinator.optimizer).toMatchObject({ enabled: 'on', scale: true, deploymentSelector: 'model.aibrix.ai/name' });
      }
      if (set === 'sim-gpu') expect(agent.accel.backend).toBe('sim:healthy-8x-h100');
      if (set === 'no-kv') {
        expect(agent.kv.enabled).toBe(false);
        expect(agent.agent.coordinatorAuth).toBe('token');
      }
    });

    it('token mode: the node-token init container runs `brixlet token node` with valid options', () => {
      const init = agentDs('no-kv').spec.template.spec.initContainers?.find((c) => c.name === 'node-token');
      const [name, sub, ...rest] = (init?.args ?? []).map(subst);
      const cmd = commands.find((x) => x.name === name);
      expect([name, sub]).toEqual(['token', 'node']);
      const all = configFields(ConfigSchema);
      const parsed = parseArgs(rest, { command: 'token', fields: all.filter((f) => cmd?.configSections.includes(f.segments[0] ?? '')), allFields: all, options: [...(cmd?.options ?? []), HELP_OPTION] });
      expect(parsed.positionals).toEqual(['gpu-node-1']);
      expect(parsed.options).toMatchObject({ 'secret-file': '/var/run/brixlet-scratch/cluster-secret', out: '/var/run/brixlet-secrets/node-token' });
    });
  });

  describe('init container scripts (run here with node)', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'brixlet-chart-init-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('secret-files writes each Secret value to a 0600 file brixlet accepts, and removes stale outputs', () => {
      const init = agentDs('full').spec.template.spec.initContainers?.find((c) => c.name === 'secret-files');
      const [node, e, script] = init?.command ?? [];
      expect([node, e]).toEqual(['node', '-e']);
      const stale = join(dir, 'node-token');
      mkdirSync(join(dir, 'sub'));
      execFileSync(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(stale)}, 'old')`]);
      execFileSync(process.execPath, ['-e', script as string, `FAULTS_TOKEN=${join(dir, 'sub', 'faults-token')}`, stale], { env: { FAULTS_TOKEN: 'abcdefghijklmnopqrstuvwxyz012345' } });
      const st = statSync(join(dir, 'sub', 'faults-token'));
      expect(st.mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, 'sub', 'faults-token'), 'utf8').trim()).toBe('abcdefghijklmnopqrstuvwxyz012345');
      expect(() => lstatSync(stale)).toThrow(/ENOENT/);
      // A short or missing value stops the pod instead of writing a token brixlet would refuse later.
      expect(() => execFileSync(process.execPath, ['-e', script as string, `X=${join(dir, 'x')}`], { env: { X: 'short' }, stdio: 'pipe' })).toThrow(/shorter than 16/);
    });

    it('host-dirs sets the mode and owner the agent checks for', () => {
      const init = agentDs('default').spec.template.spec.initContainers?.find((c) => c.name === 'host-dirs');
      const script = init?.command?.[2] as string;
      const d = join(dir, 'run');
      mkdirSync(d, { mode: 0o777 });
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      execFileSync(process.execPath, ['-e', script, `${d}:0750:${uid}:${gid}`]);
      const st = statSync(d);
      expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o750, uid, gid]);
    });
  });

  describe('RBAC: least privilege per toggle', () => {
    it('default: TokenReviews and pod reads for agent auth, nothing else', () => {
      expect(grants('default', 'authentication.k8s.io', 'tokenreviews')).toEqual(['create']);
      expect(grants('default', '', 'pods')).toEqual(['get']);
      for (const [g, r] of [['', 'nodes'], ['apps', 'deployments/scale'], ['brixlet.io', 'modelfleets'], ['ray.io', 'rayclusters'], ['coordination.k8s.io', 'leases'], ['chaos-mesh.org', 'podchaos'], ['', 'events']] as const) {
        expect(grants('default', g, r), `${g}/${r}`).toEqual([]);
      }
    });

    it('token auth and no Kubernetes features: no RBAC at all and no API token mounted', () => {
      expect(rulesOf('no-kv')).toEqual([]);
      expect(coordinatorDeploy('no-kv').spec.template.spec.automountServiceAccountToken).toBe(false);
    });

    it('each feature of the full set gets exactly its rules', () => {
      expect(grants('full', '', 'nodes').sort()).toEqual(['get', 'patch']);
      expect(grants('full', '', 'nodes/status')).toEqual(['patch']);
      expect(grants('full', 'apps', 'deployments/scale').sort()).toEqual(['get', 'patch']);
      expect(grants('full', 'apps', 'deployments').sort()).toEqual(['list', 'watch']);
      expect(grants('full', 'brixlet.io', 'modelfleets/status').sort()).toEqual(['patch']);
      expect(grants('full', 'ray.io', 'rayclusters')).toContain('create');
      expect(grants('full', 'leaderworkerset.x-k8s.io', 'leaderworkersets')).toContain('update');
      expect(grants('full', 'coordination.k8s.io', 'leases').sort()).toEqual(['create', 'get', 'update']);
      expect(grants('full', 'apiextensions.k8s.io', 'customresourcedefinitions')).toEqual(['get']);
      // Chaos Roles in each listed namespace, bound to the chaos ServiceAccount only.
      const chaosRoles = find('full', 'Role', 'r-brixlet-chaos').map((r) => r.metadata.namespace);
      expect(chaosRoles.sort()).toEqual(['chaos-testing', 'llm']);
      // No wildcard anywhere.
      expect(rulesOf('full').flatMap((r) => [...r.verbs, ...r.resources, ...r.apiGroups])).not.toContain('*');
    });

    it('orchestrator rules appear only with the orchestrator on, chaos rules only with chaos on', async () => {
      const orchestratorOnly = await render(['--set', 'coordinator.orchestrator.enabled=true']);
      const rules = (objs: K8sObject[], group: string) => objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole').flatMap((o) => ((o as unknown as { rules?: Rule[] }).rules ?? []).filter((r) => r.apiGroups.includes(group)));
      for (const g of ['brixlet.io', 'ray.io', 'leaderworkerset.x-k8s.io', 'coordination.k8s.io', 'apiextensions.k8s.io']) {
        expect(rules(orchestratorOnly, g).length, g).toBeGreaterThan(0);
        for (const set of ['default', 'sim-gpu', 'no-kv', 'ascend']) expect(rules(rendered.get(set) ?? [], g), `${set} ${g}`).toEqual([]);
      }
      expect(rules(orchestratorOnly, 'chaos-mesh.org')).toEqual([]);
      const chaosOnly = await render(['--set', 'chaos.enabled=true']);
      expect(rules(chaosOnly, 'chaos-mesh.org').length).toBe(1);
      expect(rules(chaosOnly, 'ray.io')).toEqual([]);
    });
  });

  describe('bad values are refused with a readable message', () => {
    it.each([
      [['--set', 'agent.kv.policy=lfu'], /agent\.kv\.policy must be one of the following: "arc", "s3fifo", "lru", "fifo"/],
      [['--set', 'agent.bogus=1'], /agent: Additional property bogus is not allowed/],
      [['--set', 'coordinator.control.auth=none'], /coordinator\.control\.auth must be one of the following: "kubernetes", "token"/],
      [['--set', 'agent.port=70000'], /agent\.port: Must be less than or equal to 65535/],
      [['--set', 'agent.accel.backend=cuda'], /agent\.accel\.backend: Does not match pattern/],
      [['--set', 'clusterSecret.value=short'], /clusterSecret\.value: Does not match pattern/],
      [['--set', 'agent.kv.slabSizeMiB=5000'], /agent\.kv\.slabSizeMiB: Must be less than or equal to 4096/],
    ])('schema: %j', async (args, message) => {
      expect(await renderError(args)).toMatch(message);
    });

    it.each([
      [['--set', 'agent.kv.enabled=false', '--set', 'agent.extraArgs={--kv.capacity=2GiB}'], 'agent.kv.enabled is false but agent.extraArgs sets KV flags (--kv.capacity=2GiB)'],
      [['--set', 'coordinator.orchestrator.enabled=true', '--set', 'coordinator.control.enabled=false'], 'coordinator.orchestrator.enabled needs coordinator.control.enabled'],
      [['--set', 'monitoring.dashboards.enabled=true', ...PROM_API], 'monitoring.dashboards.enabled without monitoring.serviceMonitor.enabled or monitoring.podMonitor.enabled'],
      [['--set', 'monitoring.serviceMonitor.enabled=true'], 'monitoring.serviceMonitor.enabled needs the Prometheus Operator\'s monitoring.coreos.com/v1 API'],
      [['--set', 'agent.shutdownTimeout=1m'], 'agent.terminationGracePeriodSeconds (30) must exceed agent.shutdownTimeout (1m)'],
      [['--set', 'agent.kv.capacityMiB=512'], 'agent.kv.capacityMiB (512) is smaller than agent.kv.slabSizeMiB (1024)'],
      [['--set', 'coordinator.optimizer.scale=true'], 'coordinator.optimizer.enabled is off but'],
      [['--set', 'coordinator.gateway.enabled=false', '--set', 'coordinator.gateway.engineSelector=app=vllm'], 'coordinator.gateway.enabled is false but coordinator.gateway.engines/engineSelector are set'],
      [['--set', 'coordinator.replicas=2'], 'coordinator.replicas > 1 with coordinator.control.enabled'],
    ])('validate.yaml: %j', async (args, message) => {
      const err = await renderError(args);
      expect(err).toContain('brixlet: contradictory values');
      expect(err).toContain(message);
    });
  });

  it('the cluster secret is generated once, at least 16 characters, and an existing Secret is used as is', async () => {
    const [secret] = find<K8sObject & { data: Record<string, string> }>('default', 'Secret', 'r-brixlet-cluster-secret');
    expect(Buffer.from(secret?.data['cluster-secret'] ?? '', 'base64').toString()).toMatch(/^[A-Za-z0-9]{43}$/);
    const existing = await render(['--set', 'clusterSecret.existingSecret=mine']);
    expect(existing.filter((o) => o.kind === 'Secret')).toEqual([]);
    const env = coordinatorDeployOf(existing).spec.template.spec.initContainers?.[0]?.env?.[0]?.valueFrom;
    expect(env).toEqual({ secretKeyRef: { name: 'mine', key: 'cluster-secret' } });
  });

  it('the gateway off: loopback only, no gateway Service, no engine discovery', async () => {
    const objs = await render(['--set', 'coordinator.gateway.enabled=false']);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).not.toContain('Service/r-brixlet-gateway');
    expect(container(coordinatorDeployOf(objs), 'coordinator').args).toContain('--gateway.host=127.0.0.1');
  });

  it('full: monitoring objects select the chart\'s own pods and Services', () => {
    const sm = find<K8sObject & { spec: { endpoints: { port: string }[] } }>('full', 'ServiceMonitor');
    expect(sm.map((s) => s.spec.endpoints[0]?.port).sort()).toEqual(['control', 'http']);
    expect(sm[0]?.metadata.labels?.release).toBe('prometheus');
    expect(find('full', 'PodMonitor')).toHaveLength(1);
  });

  it('full: agent series are labelled with their node (the dashboards\' node filter), coordinator series are not', () => {
    type Relabel = { sourceLabels?: string[]; targetLabel?: string };
    const toNode = (rs: Relabel[] | undefined) => (rs ?? []).some((r) => r.sourceLabels?.[0] === '__meta_kubernetes_pod_node_name' && r.targetLabel === 'node');
    const sm = find<K8sObject & { spec: { endpoints: { port: string; relabelings?: Relabel[] }[] } }>('full', 'ServiceMonitor');
    const byPort = Object.fromEntries(sm.map((s) => [s.spec.endpoints[0]?.port, toNode(s.spec.endpoints[0]?.relabelings)]));
    expect(byPort).toEqual({ http: true, control: false });
    const pm = find<K8sObject & { spec: { podMetricsEndpoints: { relabelings?: Relabel[] }[] } }>('full', 'PodMonitor');
    expect(toNode(pm[0]?.spec.podMetricsEndpoints[0]?.relabelings)).toBe(true);
  });

  it('NOTES.txt renders the commands for this release (helm template does not render NOTES: a copy of the chart renders it as YAML)', async () => {
    const copy = join(helmHome, 'notes-chart');
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(chartDir, 'templates', 'NOTES.txt'), 'utf8');
    writeFileSync(join(copy, 'templates', 'notes-check.yaml'), `kind: Notes\ntext: |\n${notes.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
    const notesOf = async (args: string[]) => {
      const { stdout } = await run(helm as string, ['template', 'r', copy, '-n', NS, ...KUBE, '--show-only', 'templates/notes-check.yaml', ...args], { env: helmEnv });
      return (parseAllDocuments(stdout)[0]?.toJS() as { text: string }).text;
    };
    const text = await notesOf([]);
    expect(text).toContain('kubectl -n brx rollout status daemonset/r-brixlet-agent');
    expect(text).toContain('kubectl -n brx port-forward svc/r-brixlet-gateway 8080');
    expect(text).toContain('kubectl apply --server-side -f chart/crds/');
    expect(text).not.toContain('WARNING');
    const testCluster = await notesOf(['--set', 'agent.faults.enabled=true', '--set', 'chaos.enabled=true']);
    expect(testCluster).toContain('WARNING: agent.faults.enabled');
    expect(testCluster).toContain('WARNING: chaos.enabled');
  });

  it('refuses clusters older than 1.27', async () => {
    expect(await renderError(['--kube-version', '1.26.0'])).toContain('chart requires kubeVersion: >=1.27.0-0');
  });
});

function coordinatorDeployOf(objs: K8sObject[]): Workload {
  const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'r-brixlet-coordinator');
  if (d === undefined) throw new Error('no coordinator Deployment');
  return d as Workload;
}

/** The kubernetes-models class of an object's apiVersion and kind (core, apps, rbac… and monitoring.coreos.com). */
async function modelOf(o: K8sObject): Promise<{ validate(): void }> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const spec = group === 'monitoring.coreos.com' ? `@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}` : `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${o.kind}`;
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = (await import(spec)) as typeof mod;
  } catch {
    throw new Error(`no model for ${o.apiVersion} ${o.kind} (${spec})`);
  }
  const Model = mod[o.kind];
  if (Model === undefined) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  return new Model(o);
}
