// Prometheus end to end (issue 17 items 4 and 5): Debian's prometheus scrapes the built
// `brixlet up --accel sim:healthy-8x-h100 --engines 2 --agents 2` (both agents, the control port, the
// engines) plus two standalone agents a GPU cluster also has, an Ascend node (npu_chip_info_*) and a
// node with a failed GPU (sim:ecc-dbe-xid48: XIDs, ECC, an unhealthy device). Traffic through the
// gateway and the KV pool makes the router, KV and optimizer series; then, through Prometheus' HTTP
// API: every target up, DCGM_FI_DEV_GPU_TEMP for 8 GPUs per H100 agent, the KV/router/optimizer
// series, every shipped dashboard query and every alert expression (thresholds removed) parsing and
// returning series, and the shipped rules loaded with the failed GPU's alert raised.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canBind, freePort } from '../helpers/ports.js';
import { alertExprs, dashboardExprs, rulesFile, type ShippedExpr, substituteGrafana, variableExprs } from '../helpers/prometheus-expr.js';
import { PROMETHEUS, type PrometheusInstance, prometheusSkipReason, queryVector, type ScrapeTarget, startPrometheus } from '../helpers/prometheus.js';
import { firstLine, run, type Spawned, spawnBrixlet } from './cli-process.js';

interface UpLine {
  gateway: string;
  control: string;
  'engine-0': string;
  'engine-1': string;
  agents: { node: string; url: string; kvSocket: string; peerAddress: string }[];
}

/**
 * Series only a set-up this test cannot make produces: each query must still parse, and every metric
 * it names must be declared by a target (# HELP/# TYPE, Prometheus' /api/v1/metadata).
 */
const DECLARED_ONLY: Readonly<Record<string, string>> = {
  brixlet_optimizer_scale_requests_total: 'direct scaling needs --optimizer.scale and a Kubernetes API',
  brixlet_optimizer_scale_errors_total: 'direct scaling needs --optimizer.scale and a Kubernetes API',
  brixlet_optimizer_scale_conflicts_total: 'direct scaling needs --optimizer.scale and a Kubernetes API',
  brixlet_optimizer_solve_cancellations_total: 'a solve is cancelled only when its inputs change while it runs (timing)',
};

const host = ['--agent.host', '127.0.0.1'];
const root = mkdtempSync(join(tmpdir(), 'brixlet-e2e-prometheus-'));
const url = (u: string): string => u.replace(/^http:\/\//, '');

/** Two consecutive free ports (agent i listens for peers on base + i). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65_535 && (await canBind(p + 1))) return p;
  }
}

async function chat(gateway: string, content: string, headers: Record<string, string> = {}, stream = false): Promise<number> {
  const res = await fetch(`${gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock-llama-3-8b', max_tokens: 8, stream, messages: [{ role: 'user', content }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Polls `probe` until it is true; the timeout only catches a hang (expect.poll is not allowed in hooks). */
async function until(what: string, probe: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'Inf', 'NaN']);

/** Metric family names an expression selects (strings, matchers, ranges and groupings blanked; functions skipped). */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)) if (!PROMQL_WORDS.has(m[1]!)) out.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
  return [...out];
}

describe.skipIf(PROMETHEUS === undefined)(`Prometheus scraping brixlet up, dashboards and alerts${PROMETHEUS === undefined ? ` (SKIPPED: ${prometheusSkipReason})` : ''}`, () => {
  const procs: Spawned[] = [];
  let prom: PrometheusInstance;
  let line: UpLine;
  let npuAgent: string;
  let badAgent: string;

  beforeAll(async () => {
    const peerBase = await freePortPair();
    const up = spawnBrixlet([
      'up',
      ...['--accel', 'sim:healthy-8x-h100', '--engines', '2', '--agents', '2', '--agent.node-name', 'prom-e2e', '--json'],
      ...['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', ...host, '--control.host', '127.0.0.1', '--gateway.host', '127.0.0.1'],
      // Its own shard directory, socket and peer ports; a small shard so large prompts evict.
      ...['--kv.dir', join(root, 'slabs'), '--kv.socket', join(root, 'kv.sock'), '--kv.capacity', '4MiB', '--kv.slab-size', '4MiB'],
      ...['--kv.peer-port', String(peerBase), '--kv.peer-host', '127.0.0.1', '--kv.remote-budget', '10s'],
      ...['--engine-time-scale', 'inf', '--optimizer.interval', '1s'],
    ]);
    procs.push(up);
    const npu = spawnBrixlet(['agent', '--accel', 'sim:healthy-8x-ascend910b', '--agent.node-name', 'prom-e2e-npu', '--agent.port', '0', ...host, '--no-kv.enabled', '--json']);
    const bad = spawnBrixlet(['agent', '--accel', 'sim:ecc-dbe-xid48', '--agent.node-name', 'prom-e2e-bad', '--agent.port', '0', ...host, '--no-kv.enabled', '--json']);
    procs.push(npu, bad);
    line = JSON.parse(await firstLine(up, 90_000)) as UpLine;
    npuAgent = (JSON.parse(await firstLine(npu, 60_000)) as { agent: string }).agent;
    badAgent = (JSON.parse(await firstLine(bad, 60_000)) as { agent: string }).agent;
    expect(line.agents).toHaveLength(2);

    // Router: several policies, streamed requests (time to first token), an engine failing mid-request.
    const prefix = 'shared system prompt of the brixlet Prometheus test, long enough for several KV blocks. '.repeat(3);
    for (const policy of ['cost', 'random', 'least-request', 'prefix-cache']) {
      for (let i = 0; i < 3; i++) expect(await chat(line.gateway, `${prefix} question ${i}`, { 'routing-strategy': policy })).toBe(200);
    }
    for (let i = 0; i < 3; i++) expect(await chat(line.gateway, `${prefix} stream ${i}`, {}, true)).toBe(200);
    // Large distinct prompts fill the 4 MiB shards past capacity: evictions.
    for (let i = 0; i < 8; i++) expect(await chat(line.gateway, Array.from({ length: 400 }, (_, j) => `p${i}w${j}`).join(' '))).toBe(200);
    // engine-0 resets its next request's connection: random routing reaches it sooner or later.
    const fail = await fetch(`${line['engine-0']}/admin/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'reset', count: 1 }) });
    expect(fail.status).toBe(200);
    const resetSeen = async (): Promise<boolean> => (await (await fetch(`${line.control}/metrics`)).text()).includes('brixlet_router_upstream_errors_total{engine="engine-0",reason="reset"} 1');
    for (let i = 0; i < 60 && !(await resetSeen()); i++) await chat(line.gateway, `after the reset ${i}`, { 'routing-strategy': 'random' });
    expect(await resetSeen()).toBe(true);

    // KV pool: a block put and hit on agent 0 turns hot and is published; agent 1 reads it remotely.
    const [a0, a1] = line.agents as [UpLine['agents'][0], UpLine['agents'][0]];
    const file = join(root, 'block.bin');
    writeFileSync(file, Buffer.alloc(5000, 7));
    expect((await run(['kv', 'put', '--text', 'prometheus pool block', '--file', file, '--socket', a0.kvSocket])).code).toBe(0);
    expect((await run(['kv', 'get', '--text', 'prometheus pool block', '--socket', a0.kvSocket])).code).toBe(0);
    await until('agent 1 reads the hot block from agent 0', async () => (await run(['kv', 'get', '--text', 'prometheus pool block', '--remote-budget', '2000', '--socket', a1.kvSocket])).code === 0);

    const agentTargets: ScrapeTarget[] = [
      ...line.agents.map((a) => ({ address: url(a.url), labels: { node: a.node } })),
      { address: url(npuAgent), labels: { node: 'prom-e2e-npu' } },
      { address: url(badAgent), labels: { node: 'prom-e2e-bad' } },
    ];
    prom = await startPrometheus(
      [
        { job: 'brixlet-agent', targets: agentTargets },
        { job: 'brixlet-coordinator', targets: [{ address: url(line.control) }] },
        { job: 'engines', targets: [{ address: url(line['engine-0']) }, { address: url(line['engine-1']) }] },
      ],
      { ruleFiles: [rulesFile] },
    );
    // Rates need two scrapes of every target after the traffic.
    await until('every target scraped up', async () => (await prom.targets()).every((t) => t.health === 'up'));
    await until('three scrapes of every target', async () => (await queryVector(prom, 'count(count_over_time(up[1m]) >= 3)'))[0]?.value[1] === '7');
  }, 400_000);

  afterAll(async () => {
    await prom?.stop();
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map(async (p) => (await p.exited).code));
    rmSync(root, { recursive: true, force: true });
    expect(codes).toEqual(procs.map(() => 0));
  }, 60_000);

  it('every target is up: both agents, the Ascend and the failed-GPU agent, the control port, both engines', async () => {
    const targets = await prom.targets();
    expect(targets.map((t) => `${t.labels.job} ${t.health} ${t.lastError}`).sort()).toEqual(
      [...Array<string>(4).fill('brixlet-agent up '), 'brixlet-coordinator up ', 'engines up ', 'engines up '].sort(),
    );
  });

  it('DCGM_FI_DEV_GPU_TEMP has 8 series per H100 agent, one per GPU', async () => {
    const byNode = await queryVector(prom, 'count by (node) (DCGM_FI_DEV_GPU_TEMP)');
    const counts = Object.fromEntries(byNode.map((s) => [s.metric.node, Number(s.value[1])]));
    expect(counts).toEqual({ 'prom-e2e-0': 8, 'prom-e2e-1': 8, 'prom-e2e-bad': 8 });
    const gpus = await queryVector(prom, 'DCGM_FI_DEV_GPU_TEMP{node="prom-e2e-0"}');
    expect(gpus.map((s) => s.metric.gpu).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect((await queryVector(prom, 'npu_chip_info_temperature')).map((s) => s.metric.node)).toEqual(Array<string>(8).fill('prom-e2e-npu'));
  });

  it('KV, router and optimizer series are present with the traffic they counted', async () => {
    const value = async (expr: string): Promise<number> => {
      const v = await queryVector(prom, expr);
      expect(v, expr).toHaveLength(1);
      return Number(v[0]!.value[1]);
    };
    // KV: both shards, offloads and lookups from the engines, evictions, the remote read of agent 1.
    expect(await value('count(brixlet_kvcache_capacity_bytes)')).toBe(2);
    expect(await value('sum(brixlet_kvcache_put_bytes_total)')).toBeGreaterThan(0);
    expect(await value('sum(brixlet_kvcache_lookups_total)')).toBeGreaterThan(0);
    expect(await value('sum(brixlet_kvcache_evictions_total)')).toBeGreaterThan(0);
    expect(await value('sum(brixlet_kvcache_remote_hit_blocks_total{node="prom-e2e-1"})')).toBeGreaterThanOrEqual(1);
    expect(await value('sum(brixlet_kvcache_publish_deltas_total{state="applied"})')).toBeGreaterThanOrEqual(1);
    expect(await value('max(brixlet_kvcache_ring_members)')).toBe(2);
    // Router: the requests above by policy, the reset engine's error, both engines routable.
    const policies = await queryVector(prom, 'sum by (policy) (brixlet_router_requests_total)');
    expect(policies.map((s) => s.metric.policy).sort()).toEqual(['cost', 'least-request', 'prefix-cache', 'random']);
    expect(await value('sum(brixlet_router_requests_total)')).toBeGreaterThanOrEqual(24);
    expect(await value('sum(brixlet_router_upstream_errors_total{engine="engine-0",reason="reset"})')).toBe(1);
    expect(await value('sum(brixlet_router_ttft_seconds_count)')).toBe(3);
    expect(await value('sum(brixlet_router_engine_routable{model="mock-llama-3-8b"})')).toBe(2);
    // Optimizer: solved plans for the engines' model.
    expect(await value('sum(brixlet_optimizer_solves_total{model="mock-llama-3-8b",status="optimal"})')).toBeGreaterThan(0);
    expect(await value('sum(brixlet_optimizer_plan_replicas{model="mock-llama-3-8b"})')).toBeGreaterThan(0);
    expect(await value('sum(brixlet_optimizer_solve_duration_seconds_count)')).toBeGreaterThan(0);
  });

  /** Runs each query; returns the ones that answered no series (errors fail at once). */
  async function evaluate(exprs: readonly ShippedExpr[]): Promise<{ where: string; query: string }[]> {
    const empty: { where: string; query: string }[] = [];
    for (const e of exprs) {
      const query = substituteGrafana(e.expr);
      const r = await prom.query(query);
      expect([e.where, r.status, r.error ?? '']).toEqual([e.where, 'success', '']);
      if ((r.data?.result as unknown[]).length === 0) empty.push({ where: e.where, query });
    }
    return empty;
  }

  /** Queries with no series must only use families on the DECLARED_ONLY list, each declared by a target. */
  async function expectOnlyDeclaredEmpty(empty: readonly { where: string; query: string }[]): Promise<void> {
    for (const e of empty) {
      const names = metricNames(e.query);
      expect({ where: e.where, undeclaredOnly: names.filter((n) => DECLARED_ONLY[n] === undefined) }).toEqual({ where: e.where, undeclaredOnly: [] });
      for (const n of names) {
        const meta = (await (await fetch(`${prom.url}/api/v1/metadata?metric=${n}`)).json()) as { data: Record<string, unknown[]> };
        expect([e.where, n, meta.data[n]?.length ?? 0]).toEqual([e.where, n, 1]);
      }
    }
  }

  it('every dashboard panel query and variable parses and returns series', async () => {
    const exprs = [...dashboardExprs(), ...variableExprs()];
    expect(exprs.length).toBeGreaterThan(60);
    await expectOnlyDeclaredEmpty(await evaluate(exprs));
  }, 120_000);

  it('every alert expression, its thresholds removed, parses and returns series', async () => {
    const exprs = alertExprs();
    expect(exprs.map((e) => e.where)).toContain('rules › BrixletNoHealthyEngine');
    await expectOnlyDeclaredEmpty(await evaluate(exprs));
  }, 120_000);

  it('Prometheus loads the shipped rules and raises BrixletGpuUnhealthy for the failed GPU only', async () => {
    const groups = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const rules = groups.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBe(alertExprs().length);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    await expect
      .poll(
        async () => {
          const alerts = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
          return alerts.data.alerts.filter((a) => a.labels.alertname === 'BrixletGpuUnhealthy').map((a) => `${a.labels.node} ${a.labels.index}`);
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(['prom-e2e-bad 2']);
  }, 90_000);
});
