import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { FakeApiServer } from '../../../mocks/kube-apiserver/index.js';
import { buildChaosPreset } from '../../../src/chaos/chaos-presets.js';
import { cli, startCli } from '../../helpers/cli.js';
import { INJECTED_STATUS, startChaosServer } from '../../chaos/fake-chaos-server.js';

let server: FakeApiServer;
let dir: string;
let kubeconfig: string;

const PODCHAOS = 'podchaos.chaos-mesh.org';
const manifest = `apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
  name: kill-head
spec:
  action: pod-kill
  mode: one
  selector:
    labelSelectors:
      ray.io/node-type: head
---
apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata:
  name: slow-agents
  namespace: ops
spec:
  action: delay
  mode: all
  duration: 30s
  selector:
    namespaces: [ops]
  delay:
    latency: 50ms
`;

const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const chaos = (...args: string[]) => cli(['chaos', ...args, '--kube.kubeconfig', kubeconfig]);

beforeAll(async () => {
  server = await startChaosServer();
  dir = mkdtempSync(join(tmpdir(), 'brixlet-chaos-cli-'));
  kubeconfig = file('kubeconfig.json', server.kubeconfig());
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const id of [PODCHAOS, 'networkchaos.chaos-mesh.org']) for (const o of server.store.list(id)) server.store.remove(id, o.metadata?.namespace, o.metadata?.name ?? '');
  server.requests.length = 0;
});

describe('brixlet chaos presets / preset', () => {
  it('lists every preset with its kind, description and parameters', async () => {
    const { code, stdout } = await cli(['chaos', 'presets']);
    expect(code).toBe(0);
    for (const name of ['kill-engine-head (PodChaos)', 'partition-agent-kv (NetworkChaos)', 'delay-coordinator-agent (NetworkChaos)', 'stress-gpu-node-agent (StressChaos)']) {
      expect(stdout).toContain(name);
    }
    expect(stdout).toContain('  parameters: --namespace, --name, --selector (default ray.io/node-type=head)\n');
    expect(stdout).toContain('--target-selector (default app.kubernetes.io/name=brixlet,app.kubernetes.io/component=agent)');
    const json = JSON.parse((await cli(['chaos', 'presets', '--json'])).stdout) as { name: string }[];
    expect(json).toHaveLength(4);
  });

  it('--dry-run prints the object as YAML and sends nothing; flags become parameters', async () => {
    const { code, stdout, stderr } = await chaos('preset', 'partition-agent-kv', '--namespace', 'serving', '--duration', '2m', '--selector', 'app=agent,tier=gpu', '--dry-run');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(parse(stdout)).toEqual(buildChaosPreset('partition-agent-kv', { namespace: 'serving', duration: '2m', selector: { app: 'agent', tier: 'gpu' } }));
    expect(server.requests).toHaveLength(0);
    // Without --namespace: --kube.namespace, then the kubeconfig's.
    expect(parse((await chaos('preset', 'kill-engine-head', '--dry-run', '--kube.namespace', 'ops')).stdout).metadata.namespace).toBe('ops');
    expect(parse((await chaos('preset', 'kill-engine-head', '--dry-run')).stdout).metadata.namespace).toBe('serving');
  });

  it('refuses parameters a preset does not take, bad selectors and unknown presets with exit 2', async () => {
    const dur = await cli(['chaos', 'preset', 'kill-engine-head', '--duration', '30s', '--dry-run']);
    expect(dur.code).toBe(2);
    expect(dur.stderr).toContain('invalid preset kill-engine-head: it takes no duration; it takes: namespace, name, selector [BRX_ERR_CHAOS_INVALID]');
    const sel = await cli(['chaos', 'preset', 'kill-engine-head', '--selector', 'head', '--dry-run']);
    expect(sel.code).toBe(2);
    expect(sel.stderr).toContain("--selector takes key=value pairs separated by commas, got 'head'");
    const unknown = await cli(['chaos', 'preset', 'kill-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no such preset');
  });

  it('applies a preset and, with --wait, reports once the controller has injected it; times out with exit 1', async () => {
    const run = startCli(['chaos', 'preset', 'stress-gpu-node-agent', '--node', 'gpu-3', '--wait', '--timeout', '5s', '--kube.kubeconfig', kubeconfig]);
    await expect.poll(() => server.store.get('stresschaos.chaos-mesh.org', 'serving', 'brixlet-stress-gpu-node-agent')).toBeDefined();
    const obj = server.store.get('stresschaos.chaos-mesh.org', 'serving', 'brixlet-stress-gpu-node-agent')!;
    server.store.update('stresschaos.chaos-mesh.org', 'serving', 'brixlet-stress-gpu-node-agent', { ...obj, status: INJECTED_STATUS }, 'status');
    expect(await run.code).toBe(0);
    expect(run.stdout.text).toBe(
      'StressChaos serving/brixlet-stress-gpu-node-agent created\n' +
        'StressChaos serving/brixlet-stress-gpu-node-agent injected: phase Run, Selected=True AllInjected=True AllRecovered=False Paused=False, 1/2 injected\n',
    );
    const timeout = await chaos('preset', 'kill-engine-head', '--wait', '--timeout', '200ms');
    expect(timeout.code).toBe(1);
    expect(timeout.stderr).toContain('timed out after 200 ms waiting for PodChaos serving/brixlet-kill-engine-head: waiting for AllInjected=True; phase unknown, no conditions yet');
    expect(timeout.stderr).toContain('[BRX_ERR_CHAOS_TIMEOUT]');
  });
});

describe('brixlet chaos apply / status / delete -f FILE', () => {
  it('applies every document (create, then unchanged), in the kubeconfig namespace unless the object names one', async () => {
    const path = file('two.yaml', manifest);
    const first = await chaos('apply', '-f', path);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('PodChaos serving/kill-head created\nNetworkChaos ops/slow-agents created\n');
    expect(server.store.get(PODCHAOS, 'serving', 'kill-head')?.spec).toEqual({ action: 'pod-kill', mode: 'one', selector: { labelSelectors: { 'ray.io/node-type': 'head' } } });
    expect((await chaos('apply', '-f', path)).stdout).toBe('PodChaos serving/kill-head unchanged\nNetworkChaos ops/slow-agents unchanged\n');
    const json = JSON.parse((await chaos('apply', '-f', path, '--json')).stdout) as unknown[];
    expect(json).toEqual([
      { kind: 'PodChaos', namespace: 'serving', name: 'kill-head', action: 'unchanged' },
      { kind: 'NetworkChaos', namespace: 'ops', name: 'slow-agents', action: 'unchanged' },
    ]);
  });

  it('apply --dry-run prints the validated documents without a cluster', async () => {
    const { code, stdout } = await cli(['chaos', 'apply', '-f', file('dry.yaml', manifest), '--dry-run', '--kube.kubeconfig', join(dir, 'missing')]);
    expect(code).toBe(0);
    expect(parseAllDocuments(stdout).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name)).toEqual(['kill-head', 'slow-agents']);
  });

  it('status prints the controller view, exits 1 when an object is missing; delete removes them', async () => {
    const path = file('status.yaml', manifest);
    await chaos('apply', '-f', path);
    const obj = server.store.get(PODCHAOS, 'serving', 'kill-head')!;
    server.store.update(PODCHAOS, 'serving', 'kill-head', { ...obj, status: INJECTED_STATUS }, 'status');
    const st = await chaos('status', '-f', path);
    expect(st.code).toBe(0);
    expect(st.stdout.split('\n')).toEqual([
      'KIND          NAME               STATE',
      'PodChaos      serving/kill-head  phase Run, Selected=True AllInjected=True AllRecovered=False Paused=False, 1/2 injected',
      'NetworkChaos  ops/slow-agents    phase unknown, no conditions yet (is the Chaos Mesh controller running?)',
      '',
    ]);
    const del = await chaos('delete', '-f', path, '--wait', '--timeout', '5s');
    expect(del.code).toBe(0);
    expect(del.stdout).toBe('PodChaos serving/kill-head deleted\nNetworkChaos ops/slow-agents deleted\n');
    expect(server.store.list(PODCHAOS)).toHaveLength(0);
    expect((await chaos('delete', '-f', path)).stdout).toBe('PodChaos serving/kill-head not found\nNetworkChaos ops/slow-agents not found\n');
    const missing = await chaos('status', '-f', path, '--json');
    expect(missing.code).toBe(1);
    expect((JSON.parse(missing.stdout) as { exists: boolean }[]).map((s) => s.exists)).toEqual([false, false]);
  });

  it('an invalid file exits 2 listing its problems and sends nothing', async () => {
    const bad = file('bad.yaml', manifest.replace('mode: one', 'mode: most').replace('latency: 50ms', 'latency: soon'));
    const { code, stderr } = await chaos('apply', '-f', bad);
    expect(code).toBe(2);
    expect(stderr).toContain('2 of 2 objects are invalid');
    expect(stderr).toContain('spec.mode: must be one of one, all, fixed, fixed-percent, random-max-percent, got "most"');
    expect(stderr).toContain("spec.delay.latency must be a duration such as 100ms, got 'soon'");
    expect(stderr).toContain('[BRX_ERR_CHAOS_INVALID]');
    expect(server.requests).toHaveLength(0);
  });

  it('without any kubeconfig, apply exits 2 with BRX_ERR_KUBE_CONFIG and says how to give one (not an API error)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'brixlet-home-'));
    const manifestFile = file('no-cluster.yaml', manifest);
    for (const env of [{ HOME: home }, { HOME: home, KUBECONFIG: join(home, 'missing-config') }]) {
      const r = await cli(['chaos', 'apply', '-f', manifestFile], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('[BRX_ERR_KUBE_CONFIG]');
      expect(r.stderr).not.toContain('BRX_ERR_KUBE_API');
      expect(r.stderr).toContain('--kube.kubeconfig FILE, or KUBECONFIG=FILE, or ~/.kube/config');
    }
    expect((await cli(['chaos', 'apply', '-f', manifestFile], { HOME: home })).stderr).toContain(
      `no kubeconfig found: KUBECONFIG is not set, ${join(home, '.kube', 'config')} does not exist, and this is not a pod`,
    );
    rmSync(home, { recursive: true, force: true });
  });

  it('usage mistakes exit 2; API failures exit 1 with the Kubernetes error', async () => {
    expect((await cli(['chaos'])).stderr).toContain("missing subcommand for 'brixlet chaos'; valid: apply, delete, status, presets, preset");
    const noFile = await cli(['chaos', 'apply']);
    expect([noFile.code, noFile.stderr]).toEqual([2, expect.stringContaining("'brixlet chaos apply' needs -f FILE")]);
    const unreadable = await cli(['chaos', 'status', '-f', join(dir, 'nope.yaml')]);
    expect([unreadable.code, unreadable.stderr]).toEqual([2, expect.stringContaining(`cannot read ${join(dir, 'nope.yaml')}`)]);
    expect((await cli(['chaos', 'presets', 'extra'])).code).toBe(2);
    server.failNext({ method: 'POST', status: 403, message: 'podchaos.chaos-mesh.org is forbidden' });
    const denied = await chaos('apply', '-f', file('denied.yaml', manifest));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('podchaos.chaos-mesh.org is forbidden [BRX_ERR_KUBE_UNAUTHORIZED]');
  });
});
