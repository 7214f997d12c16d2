// The agent's reporter against a real coordinator control app on port 0: initial report, change-driven
// reports from a real sim backend with fault injection, heartbeat, coordinator down then up, tokens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { presetRule } from '../../src/accel/fault/presets.js';
import { loadScenarioFile, resolveScenario } from '../../src/accel/scenario.js';
import { createSimBackends } from '../../src/accel/sim/index.js';
import { type AccelComponent, createAccelComponent } from '../../src/agent/accel-component.js';
import { createFaultComponent, type FaultComponent } from '../../src/agent/fault-component.js';
import { agentReportCredentials, startAgent } from '../../src/agent/main.js';
import { createReporter, type Reporter, type ReporterOptions, reportState, stateChanged } from '../../src/agent/reporter.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import { listen } from '../../src/common/http/listen.js';
import { DisposableStore } from '../../src/common/lifecycle.js';
import { createLogger, type Logger } from '../../src/common/logger.js';
import { createProcessRegistry } from '../../src/common/metrics.js';
import type { KvSummary } from '../../src/kvcache/types.js';
import { Readiness } from '../../src/common/readiness.js';
import { buildControlApp } from '../../src/coordinator/control-app.js';
import { createControlAuth } from '../../src/coordinator/registry/control-auth.js';
import { deriveNodeToken } from '../../src/coordinator/registry/node-token.js';
import { Registry } from '../../src/coordinator/registry/registry.js';
import { silentLog, testMetrics } from '../helpers/apps.js';
import { Capture } from '../helpers/capture.js';

const TOKEN = 'report-token-0123456789abcdef';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Coordinator {
  readonly registry: Registry;
  readonly app: BrixletServer;
  readonly url: string;
  close(): Promise<void>;
}

async function coordinator(opts: { token?: string; port?: number } = {}): Promise<Coordinator> {
  const registry = new Registry({ staleAfter: 3 });
  const app = await buildControlApp({ log: silentLog, metrics: testMetrics(), readiness: new Readiness(), registry, version: '1', bodyLimit: 1024 * 1024, ...(opts.token !== undefined && { auth: createControlAuth({ secret: opts.token }) }) });
  const url = await listen(app, { host: '127.0.0.1', port: opts.port ?? 0, server: 'control', flag: '--control.port' });
  let closed = false;
  const c = {
    registry,
    app,
    url,
    async close() {
      if (closed) return;
      closed = true;
      registry.dispose();
      await app.close();
    },
  };
  cleanups.push(() => c.close());
  return c;
}

interface Node {
  readonly accel: AccelComponent;
  readonly faults: FaultComponent;
}

/** The accelerators of a sim node (eight H100s) behind a fault engine, sampled on demand. */
async function simNode(): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-reporter-'));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const { config } = loadConfig({ flags: { 'accel.backend': 'none', 'accel.sampleInterval': '10m', 'faults.enabled': 'true', 'faults.tokenFile': join(dir, 'token') } });
  const faults = await createFaultComponent({ config, log: silentLog });
  const backends = createSimBackends(loadScenarioFile(resolveScenario('healthy-8x-h100')), { log: silentLog });
  for (const b of backends) await b.open();
  const accel = await createAccelComponent({ config, log: silentLog, nodeName: 'gpu-node-1', backends, decorate: faults.decorate });
  await accel.sampler.sampleNow();
  cleanups.push(async () => {
    await accel.dispose();
    await faults.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return { accel, faults };
}

function capturedLog(): { log: Logger; lines: () => { level: number; msg: string; code?: string }[] } {
  const out = new Capture();
  const log = createLogger({ level: 'debug', format: 'json', stream: out });
  return {
    log,
    lines: () =>
      out.text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string }),
  };
}

function reporter(opts: Partial<ReporterOptions> & Pick<ReporterOptions, 'coordinator'>): Reporter {
  const r = createReporter({ nodeName: 'gpu-node-1', agentUrl: 'http://gpu-node-1:9464', version: '1.2.3', components: ['accelerators'], heartbeatMs: 60_000, log: silentLog, ...opts });
  cleanups.push(() => r.dispose());
  return r;
}

const seqOf = (c: Coordinator, name = 'gpu-node-1'): number => c.registry.getNode(name)?.seq ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reporter', () => {
  it('sends a first report at start with accelerators, and reports a device going unhealthy at once (not at the heartbeat)', async () => {
    const c = await coordinator();
    const { accel, faults } = await simNode();
    const r = reporter({ coordinator: c.url, accel: accel.sampler, inventory: () => Promise.resolve({ hostname: 'h', os: 'Debian GNU/Linux 12', kernel: '6.1', arch: 'x64', cpuModel: 'AMD EPYC', cpus: 2, memoryBytes: 1 }) });
    r.start();
    await expect.poll(() => c.registry.getNode('gpu-node-1'), { timeout: 10_000, interval: 20 }).toBeDefined();
    const first = c.registry.getNode('gpu-node-1')!;
    expect(first).toMatchObject({ agentUrl: 'http://gpu-node-1:9464', version: '1.2.3', seq: 1, bootId: r.bootId, heartbeatMs: 60_000, host: { os: 'Debian GNU/Linux 12' }, state: 'ready', unhealthyGpus: 0 });
    expect(first.accelerators).toHaveLength(8);
    expect(first.accelerators![3]).toMatchObject({ vendor: 'nvidia', index: 3, health: 'healthy', reasons: [] });
    expect(first.accelerators![3]!.memoryBytes).toBeGreaterThan(70e9);
    const uuid3 = first.accelerators![3]!.uuid;

    faults.engine!.add(presetRule('gpu-lost', { target: { device: 3 } }));
    await accel.sampler.sampleNow();
    await expect.poll(() => c.registry.getNode('gpu-node-1')?.unhealthyGpus, { timeout: 10_000, interval: 20 }).toBe(1);
    expect(c.registry.unhealthyGpus('gpu-node-1')[0]).toMatchObject({ index: 3, uuid: uuid3 });
    expect(c.registry.unhealthyGpus('gpu-node-1')[0]!.reasons.join(' ')).toMatch(/79|lost|bus/i);
    expect(c.registry.isRoutable('gpu-node-1', [uuid3]).ok).toBe(false);
    expect(c.registry.isRoutable('gpu-node-1', [first.accelerators![0]!.uuid]).ok).toBe(true);
    expect(seqOf(c)).toBe(2);
  });

  it('a host inventory read that hangs does not stop reports or dispose()', async () => {
    const c = await coordinator();
    const r = reporter({ coordinator: c.url, timeoutMs: 200, inventory: () => new Promise<never>(() => undefined) });
    r.start();
    await expect.poll(() => c.registry.getNode('gpu-node-1'), { timeout: 10_000, interval: 20 }).toBeDefined();
    expect(c.registry.getNode('gpu-node-1')!.host).toBeUndefined();
    await r.dispose();
  });

  it('a sample that changes only readings is not a change: nothing is sent before the heartbeat', async () => {
    const c = await coordinator();
    const { accel } = await simNode();
    const r = reporter({ coordinator: c.url, accel: accel.sampler, minIntervalMs: 100 });
    r.start();
    await expect.poll(() => seqOf(c), { timeout: 10_000, interval: 20 }).toBe(1);
    for (let i = 0; i < 4; i++) {
      await accel.sampler.sampleNow();
      await sleep(60);
    }
    await sleep(200);
    expect(seqOf(c)).toBe(1);
    expect(r.stats()).toMatchObject({ sent: 1, failed: 0, seq: 1 });
  });

  it('changes are sent at most once per minimum interval', async () => {
    const c = await coordinator();
    const { accel, faults } = await simNode();
    const at: number[] = [];
    c.registry.onChange(() => at.push(performance.now()));
    const r = reporter({ coordinator: c.url, accel: accel.sampler, minIntervalMs: 300 });
    r.start();
    await expect.poll(() => seqOf(c), { timeout: 10_000, interval: 10 }).toBe(1);
    for (const device of [1, 2, 3]) {
      faults.engine!.add(presetRule('gpu-lost', { target: { device } }));
      await accel.sampler.sampleNow();
    }
    await expect.poll(() => c.registry.getNode('gpu-node-1')?.unhealthyGpus, { timeout: 10_000, interval: 10 }).toBe(3);
    // However the three samples fell, consecutive reports are at least the interval apart (timer slack aside).
    expect(at.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(290);
    expect(seqOf(c)).toBe(at.length);
  });

  it('heartbeats when nothing changes', async () => {
    const c = await coordinator();
    reporter({ coordinator: c.url, heartbeatMs: 150 }).start();
    await expect.poll(() => seqOf(c), { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(4);
    expect(c.registry.getNode('gpu-node-1')).toMatchObject({ state: 'ready', heartbeatMs: 150 });
  });

  it('keeps retrying while the coordinator is down, logs that once, and reports again when it is back', async () => {
    const first = await coordinator();
    const port = Number(new URL(first.url).port);
    const { log, lines } = capturedLog();
    const r = reporter({ coordinator: first.url, heartbeatMs: 200, minIntervalMs: 50, log });
    r.start();
    await expect.poll(() => seqOf(first), { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(1);
    await first.close();
    await expect.poll(() => r.stats().failed, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    const warns = lines().filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ code: 'BRX_ERR_REGISTRY_REPORT' });
    expect(warns[0]!.msg).toContain(`cannot report to the coordinator at ${first.url}/v1/nodes/gpu-node-1`);
    expect(r.stats().lastError).toBeDefined();

    const second = await coordinator({ port });
    await expect.poll(() => second.registry.getNode('gpu-node-1')?.bootId, { timeout: 10_000, interval: 20 }).toBe(r.bootId);
    await expect.poll(() => lines().filter((l) => l.msg === 'reporting to the coordinator again').length, { timeout: 10_000, interval: 20 }).toBe(1);
    expect(r.stats().lastError).toBeUndefined();
    expect(lines().filter((l) => l.level >= 40)).toHaveLength(1);
  });

  it('a wrong token: 401, an error log naming the token flags, no node registered', async () => {
    const c = await coordinator({ token: TOKEN });
    const { log, lines } = capturedLog();
    const r = reporter({ coordinator: c.url, token: 'wrong-token-0123456789abcdef', heartbeatMs: 100, minIntervalMs: 50, log });
    r.start();
    await expect.poll(() => r.stats().failed, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    const errors = lines().filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED' });
    expect(errors[0]!.msg).toContain('--agent.coordinator-token-file');
    expect(errors[0]!.msg).toContain('--control.token-file');
    expect(r.stats().lastError).toMatch(/^HTTP 401/);
    expect(c.registry.size).toBe(0);

    const good = reporter({ coordinator: c.url, token: TOKEN });
    expect(await good.reportNow()).toBe(true);
    expect(c.registry.size).toBe(1);
  });

  it('a report the coordinator rejects is logged with its reason', async () => {
    const c = await coordinator();
    const { log, lines } = capturedLog();
    // A node name the URL and schema accept but the agent URL empty: the coordinator answers 400.
    const r = reporter({ coordinator: c.url, agentUrl: '', log });
    expect(await r.reportNow()).toBe(false);
    expect(r.stats().lastError).toMatch(/^HTTP 400: .*agentUrl/);
    expect(lines().find((l) => l.level === 50)?.code).toBe('BRX_ERR_REGISTRY_REPORT');
  });

  it('dispose stops every timer: no report after it', async () => {
    const c = await coordinator();
    const r = reporter({ coordinator: c.url, heartbeatMs: 100 });
    r.start();
    await expect.poll(() => seqOf(c), { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    await r.dispose();
    const seq = seqOf(c);
    await sleep(300);
    expect(seqOf(c)).toBe(seq);
    expect(await r.reportNow()).toBe(false);
  });
});

describe('credentials and the coordinator\'s answers', () => {
  /** A control port stand-in that records what each report carried and answers as told. */
  async function recorder(reply: (n: number) => { status: number; body: unknown }) {
    const seen: { authorization?: string; heartbeatMs?: number }[] = [];
    const server = createHttpServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, heartbeatMs: (JSON.parse(text) as { heartbeatMs?: number }).heartbeatMs });
        const r = reply(seen.length);
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('reports as often as the coordinator judges the node by when that is shorter than its own heartbeat', async () => {
    const c = await recorder(() => ({ status: 200, body: { node: {}, heartbeatMs: 1000 } }));
    const r = reporter({ coordinator: c.url, heartbeatMs: 600_000 });
    expect(await r.reportNow()).toBe(true);
    expect(await r.reportNow()).toBe(true);
    expect(c.seen.map((x) => x.heartbeatMs)).toEqual([600_000, 1000]);
  });

  it('reads a token source before every report (a rotated ServiceAccount token is sent from the next report on)', async () => {
    const c = await recorder(() => ({ status: 200, body: { heartbeatMs: 60_000 } }));
    let token = 'sa-token-one';
    const r = reporter({ coordinator: c.url, tokenSource: () => Promise.resolve(token) });
    await r.reportNow();
    token = 'sa-token-two';
    await r.reportNow();
    expect(c.seen.map((x) => x.authorization)).toEqual(['Bearer sa-token-one', 'Bearer sa-token-two']);
  });

  it('a 403 (another node\'s credentials) is an authentication error naming the flags', async () => {
    const c = await recorder(() => ({ status: 403, body: { error: { code: 'BRX_ERR_REGISTRY_FORBIDDEN', message: 'system:serviceaccount:x:y runs on node a, so it may not report node gpu-node-1' } } }));
    const { log, lines } = capturedLog();
    const r = reporter({ coordinator: c.url, token: 'x'.repeat(20), log });
    expect(await r.reportNow()).toBe(false);
    const err = lines().find((l) => l.level === 50)!;
    expect(err).toMatchObject({ code: 'BRX_ERR_REGISTRY_UNAUTHORIZED' });
    expect(err.msg).toContain('may not report node gpu-node-1');
    expect(err.msg).toContain('--agent.coordinator-auth kubernetes');
  });

  it('--agent.coordinator-auth kubernetes: the ServiceAccount token file is read at start (missing = error naming the flag), not held to 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-sa-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const missing = loadConfig({ flags: { 'agent.coordinatorAuth': 'kubernetes', 'agent.serviceAccountTokenFile': join(dir, 'none') } }).config;
    await expect(agentReportCredentials(missing)).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_TOKEN', message: expect.stringContaining('--agent.service-account-token-file') });
    // The kubelet writes projected tokens 0644 inside the pod's own volume.
    writeFileSync(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.sa.one\n', { mode: 0o644 });
    const { config } = loadConfig({ flags: { 'agent.coordinatorAuth': 'kubernetes', 'agent.serviceAccountTokenFile': join(dir, 'token') } });
    const creds = await agentReportCredentials(config);
    expect(creds.token).toBeUndefined();
    expect(await creds.tokenSource!()).toBe('eyJhbGciOiJSUzI1NiJ9.sa.one');
    writeFileSync(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.sa.two');
    expect(await creds.tokenSource!()).toBe('eyJhbGciOiJSUzI1NiJ9.sa.two');
  });

  it('a node token file readable by group or others is refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-node-token-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'token'), deriveNodeToken(TOKEN, 'n'), { mode: 0o644 });
    const { config } = loadConfig({ flags: { 'agent.coordinatorTokenFile': join(dir, 'token') } });
    await expect(agentReportCredentials(config)).rejects.toMatchObject({ code: 'BRX_ERR_REGISTRY_TOKEN', message: expect.stringContaining('mode 0644') });
  });
});

describe('what counts as a change', () => {
  const kv = (over: Partial<KvSummary> = {}): KvSummary => ({ capacityBytes: 1000, usedBytes: 500, entries: 100, maxEntries: 10_000, hitRatio: 0.5, ...over }) as KvSummary;
  const acc = (health: 'healthy' | 'unhealthy') => [{ vendor: 'nvidia' as const, index: 0, uuid: 'GPU-0', name: 'H100', health, reasons: [] }];

  it('device health changes; KV use by 1 % of capacity; entries by 1 % of the maximum; hit ratio by 0.01', () => {
    const base = reportState(acc('healthy'), kv());
    expect(stateChanged(base, reportState(acc('healthy'), kv()))).toBe(false);
    expect(stateChanged(base, reportState(acc('unhealthy'), kv()))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ usedBytes: 509 })))).toBe(false);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ usedBytes: 490 })))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ entries: 199 })))).toBe(false);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ entries: 200 })))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ hitRatio: 0.505 })))).toBe(false);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ hitRatio: 0.51 })))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ hitRatio: null })))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), undefined))).toBe(true);
    expect(stateChanged(base, reportState(acc('healthy'), kv({ capacityBytes: 2000 })))).toBe(true);
  });

  it('small moves that add up do count: compared with what was last sent, not the previous sample', () => {
    const sent = reportState(undefined, kv({ usedBytes: 500 }));
    expect(stateChanged(sent, reportState(undefined, kv({ usedBytes: 506 })))).toBe(false);
    expect(stateChanged(sent, reportState(undefined, kv({ usedBytes: 512 })))).toBe(true);
  });
});

describe('startAgent with --coordinator', () => {
  it('reports the node with its components, host inventory and KV shard, and heartbeats', async () => {
    const c = await coordinator({ token: TOKEN });
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-reporter-agent-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The node's own token, derived from the coordinator's secret as `brixlet token node` does.
    writeFileSync(join(dir, 'token'), deriveNodeToken(TOKEN, 'node-a'), { mode: 0o600 });
    const { config } = loadConfig({
      flags: {
        'agent.port': '0',
        'agent.host': '127.0.0.1',
        'agent.nodeName': 'node-a',
        'agent.coordinator': c.url,
        'agent.coordinatorTokenFile': join(dir, 'token'),
        'agent.heartbeat': '200ms',
        'kv.dir': join(dir, 'slabs'),
        'kv.socket': join(dir, 'kv.sock'),
        'kv.capacity': '16MiB',
        'kv.slabSize': '16MiB',
      },
    });
    const { createKvComponent } = await import('../../src/agent/kv-component.js');
    const kv = await createKvComponent(config, silentLog);
    const store = new DisposableStore();
    cleanups.push(() => store.dispose());
    const agent = await startAgent({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: '9.9.9' }, [kv]);
    expect(agent.reporter).toBeDefined();
    expect(agent.agentUrl).toBe(agent.url);
    await expect.poll(() => c.registry.getNode('node-a')?.seq ?? 0, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    const node = c.registry.getNode('node-a')!;
    expect(node).toMatchObject({ agentUrl: agent.url, version: '9.9.9', components: ['kvcache'], heartbeatMs: 200, kv: { capacityBytes: 16 * 1024 * 1024, usedBytes: 0, entries: 0, socket: join(dir, 'kv.sock') } });
    expect(node.host?.cpus).toBeGreaterThan(0);
    // The agent itself is unaffected by reporting.
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
    await store.dispose();
    const seq = c.registry.getNode('node-a')!.seq!;
    await sleep(400);
    expect(c.registry.getNode('node-a')!.seq).toBe(seq);
  });

  it('an unreadable token file stops the agent before it listens', async () => {
    const { config } = loadConfig({ flags: { 'agent.port': '0', 'agent.host': '127.0.0.1', 'agent.coordinator': 'http://127.0.0.1:1', 'agent.coordinatorTokenFile': '/nonexistent/brixlet-token' } });
    const store = new DisposableStore();
    await expect(startAgent({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: '1' })).rejects.toMatchObject({
      code: 'BRX_ERR_REGISTRY_TOKEN',
      message: expect.stringContaining('--agent.coordinator-token-file'),
    });
    await store.dispose();
  });

  it('without --coordinator nothing reports; the advertised URL uses the host name for a wildcard bind', async () => {
    const { config } = loadConfig({ flags: { 'agent.port': '0', 'agent.host': '0.0.0.0' } });
    const store = new DisposableStore();
    const agent = await startAgent({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: '1' });
    expect(agent.reporter).toBeUndefined();
    expect(agent.agentUrl).toBe(`http://${hostname()}:${new URL(agent.url).port}`);
    await store.dispose();
  });

  it('brixlet up style: an in-process coordinator URL and token, the loopback URL advertised', async () => {
    const c = await coordinator({ token: TOKEN });
    const { config } = loadConfig({ flags: { 'agent.port': '0', 'agent.host': '0.0.0.0', 'agent.nodeName': 'up-node' } });
    const store = new DisposableStore();
    cleanups.push(() => store.dispose());
    const agent = await startAgent({ config, log: silentLog, processRegistry: createProcessRegistry(), store, version: '1' }, [], {
      coordinator: c.url,
      coordinatorToken: TOKEN,
      advertiseListenUrl: true,
    });
    expect(agent.agentUrl).toBe(agent.url);
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await agent.reporter!.reportNow()).toBe(true);
    expect(c.registry.getNode('up-node')?.agentUrl).toBe(agent.url);
  });
});
