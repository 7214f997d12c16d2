// The container image (Dockerfile) built with podman on local stand-ins for its public bases
// (scripts/image/build-test-base.sh: no registry is reachable here) and run as a user runs it:
// `brixlet up --accel sim:healthy-8x-h100 --engines 2` answers through the gateway, its agent exports
// the DCGM metrics, the HEALTHCHECK passes, and `podman stop` (SIGTERM) lets a streaming request
// finish before the process exits 0. Skips with the reason where podman cannot build or run.
// Reruns are fast: the bases are reused and the build stage is cached while its inputs are unchanged.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { type Attached, podman, podmanAttached, podmanMissing, podmanOk, testBases } from '../helpers/podman.js';
import { repoRoot } from '../helpers/repo.js';

const IMAGE = 'localhost/brixlet:e2e';
const NAME = `brixlet-image-test-${process.pid}`;
const BUILD_TIMEOUT = 15 * 60_000; // a cold build on 2 loaded cores takes minutes; only a hang fails
const version = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string }).version;

const missing = podmanMissing();
let skip: string | undefined = missing;

interface Up {
  readonly run: Attached;
  readonly urls: Record<string, string>;
}
let up: Promise<Up> | undefined;

/** The container, started once for the tests below (the last one stops it). */
function startUp(): Promise<Up> {
  up ??= (async () => {
    const [agentPort, controlPort] = [await freePort(), await freePort()];
    // Host network on loopback: ports are picked here (agent, control: the HEALTHCHECK reads the same
    // env twins) or by the container (gateway, engines: read from --json). /dev/shm holds the KV slab.
    const run = podmanAttached([
      'run', '--name', NAME, '--network', 'host', '--shm-size', '256m',
      '-e', `BRIXLET_AGENT_PORT=${agentPort}`, '-e', `BRIXLET_CONTROL_PORT=${controlPort}`,
      IMAGE,
      'up', '--accel', 'sim:healthy-8x-h100', '--engines', '2', '--engine-time-scale', '0.25',
      '--agent.host', '127.0.0.1', '--control.host', '127.0.0.1', '--gateway.host', '127.0.0.1', '--gateway.port', '0',
      '--kv.peer-host', '127.0.0.1', '--kv.peer-port', '0', '--kv.capacity', '64MiB',
      '--shutdown.timeout', '60s', '--json',
    ]); // prettier-ignore
    const deadline = Date.now() + 120_000; // only a hang
    while (!run.stdout.includes('\n')) {
      if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(`brixlet up in the container printed no URLs (exit ${run.child.exitCode}); stderr:\n${run.stderr.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { run, urls: JSON.parse(run.stdout.slice(0, run.stdout.indexOf('\n'))) as Record<string, string> };
  })();
  return up;
}

describe.skipIf(missing !== undefined)(`the brixlet image (podman)${missing === undefined ? '' : ` (SKIPPED: ${missing})`}`, () => {
  beforeAll(async () => {
    const t0 = Date.now();
    const bases = await testBases();
    if (typeof bases === 'string') {
      skip = bases;
      console.warn(`image test skipped: ${bases}`);
      return;
    }
    const runs = await podman(['run', '--rm', '--entrypoint', 'node', bases.baseImage, '-e', '0']);
    if (runs.code !== 0) {
      skip = `podman cannot run a container here: ${runs.stderr.trim().split('\n').at(-1) ?? ''}`;
      console.warn(`image test skipped: ${skip}`);
      return;
    }
    const t1 = Date.now();
    await podmanOk([
      'build', '--format', 'docker', '--layers',
      '--build-arg', `BASE_IMAGE=${bases.baseImage}`, '--build-arg', `BUILD_IMAGE=${bases.buildImage}`,
      '-t', IMAGE, '-f', `${repoRoot}Dockerfile`, repoRoot,
    ]); // prettier-ignore
    const size = Number((await podmanOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim());
    console.log(`image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB (${size} bytes, uncompressed); bases ${((t1 - t0) / 1000).toFixed(1)} s, build ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }, BUILD_TIMEOUT);

  afterAll(async () => {
    if (up !== undefined) await podman(['rm', '--force', '--time', '0', NAME]);
  }, 120_000);

  it('is non-root, labelled, health-checked, runs the CLI, ships the interposer and not the mock libraries', async (ctx) => {
    if (skip !== undefined) ctx.skip(skip);
    const [image] = JSON.parse(await podmanOk(['image', 'inspect', IMAGE])) as {
      Config: { User: string; Entrypoint: string[]; Labels: Record<string, string>; ExposedPorts: Record<string, unknown>; StopSignal?: string };
      Healthcheck?: { Test: string[] };
    }[];
    const c = (image as NonNullable<typeof image>).Config;
    expect(c.User).toBe('65532:65532');
    expect(c.Entrypoint).toEqual(['node', '--max-semi-space-size=2', '/usr/local/lib/brixlet/dist/cli/main.js']);
    expect(c.Labels).toMatchObject({
      'org.opencontainers.image.title': 'brixlet',
      // The Dockerfile's default VERSION follows package.json.
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.source': 'https://github.com/brixlet/brixlet',
    });
    expect(Object.keys(c.ExposedPorts).sort()).toEqual(['8080/tcp', '8081/tcp', '9464/tcp', '9465/tcp']);
    expect(c.StopSignal).toBe('SIGTERM');
    expect(image?.Healthcheck?.Test).toEqual(['CMD', 'node', '/usr/local/lib/brixlet/scripts/image/healthcheck.mjs']);

    // Arguments start with the subcommand.
    expect((await podmanOk(['run', '--rm', IMAGE, '--version'])).trim()).toBe(version);

    // What the image holds, looked at from inside (node: no shell needed).
    const probe = `
      const fs = require('node:fs'), path = require('node:path');
      const found = [];
      const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p); else if (/^lib(nvidia-ml|dcmi)\\.so/.test(e.name)) found.push(p); } };
      for (const d of ['/usr/local/lib/brixlet', '/opt', '/usr/lib', '/usr/local/lib']) walk(d);
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), user: require('node:os').userInfo().username,
        opt: fs.readdirSync('/opt/brixlet').sort(), scenarios: fs.readdirSync('/usr/local/lib/brixlet/mocks/scenarios').length,
        vendorLibs: found, devDeps: ['vitest', 'typescript', 'eslint'].filter((m) => fs.existsSync('/usr/local/lib/brixlet/node_modules/' + m)) }));`;
    const inside = JSON.parse(await podmanOk(['run', '--rm', '--entrypoint', 'node', IMAGE, '-e', probe])) as Record<string, unknown>;
    expect(inside).toMatchObject({ uid: 65532, gid: 65532, user: 'brixlet', opt: ['libbrixlet-inject-dcmi.so', 'libbrixlet-inject-nvml.so', 'libbrixlet-inject.so'], vendorLibs: [], devDeps: [] });
    expect(inside.scenarios).toBeGreaterThan(0);

    // The interposer loads in the image's runtime (no driver there): a preloaded process runs normally.
    expect((await podmanOk(['run', '--rm', '-e', 'LD_PRELOAD=/opt/brixlet/libbrixlet-inject.so', '--entrypoint', 'node', IMAGE, '-e', 'console.log("preloaded")'])).trim()).toBe('preloaded');
  });

  it('runs brixlet up --accel sim:healthy-8x-h100 --engines 2: the gateway answers, the agent exports GPU metrics, the HEALTHCHECK passes', async (ctx) => {
    if (skip !== undefined) ctx.skip(skip);
    const { urls } = await startUp();
    expect(Object.keys(urls)).toEqual(expect.arrayContaining(['gateway', 'control', 'agent', 'engine-0', 'engine-1']));

    const res = await fetch(`${urls.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 8 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-brixlet-target')).toMatch(/^engine-[01]$/);
    const body = (await res.json()) as { object: string; usage: { completion_tokens: number } };
    expect(body).toMatchObject({ object: 'chat.completion', usage: { completion_tokens: 8 } });

    // The sim node's 8 GPUs, in dcgm-exporter's names (the first sample may still be on its way).
    await expect
      .poll(async () => {
        const text = await (await fetch(`${urls.agent}/metrics`)).text();
        return new Set([...text.matchAll(/^DCGM_FI_DEV_GPU_TEMP\{[^}]*\bgpu="(\d+)"/gm)].map((m) => m[1])).size;
      }, { timeout: 60_000 })
      .toBe(8);

    // The image's own HEALTHCHECK command, run by podman inside the container.
    const health = await podman(['healthcheck', 'run', NAME]);
    expect({ code: health.code, stderr: health.stderr.trim() }).toEqual({ code: 0, stderr: '' });
    expect((await podmanOk(['inspect', '--format', '{{.State.Health.Status}}', NAME])).trim()).toBe('healthy');
  });

  it('drains on podman stop (SIGTERM to node as PID 1): a streaming request in flight finishes, then exit 0', async (ctx) => {
    if (skip !== undefined) ctx.skip(skip);
    const { run, urls } = await startUp();
    // 200 tokens at a quarter of real time: seconds of streaming, far inside --shutdown.timeout 60s.
    const res = await fetch(`${urls.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-llama-3-8b', messages: [{ role: 'user', content: 'a long story' }], max_tokens: 200, stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);

    const stop = podman(['stop', '--time', '120', NAME]); // SIGTERM (the image's STOPSIGNAL), SIGKILL only after 120 s
    let afterDrainStarted = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += decoder.decode(r.value);
      if (run.stderr.includes('"msg":"draining"')) afterDrainStarted++;
    }
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const errors = events.slice(0, -1).filter((e) => (JSON.parse(e.slice('data: '.length)) as { error?: unknown }).error !== undefined);
    expect(errors).toEqual([]);
    const last = JSON.parse((events.at(-2) as string).slice('data: '.length)) as { choices: { finish_reason: string | null }[] };
    // 'length': all 200 tokens came, the stream was not cut by the shutdown.
    expect(last.choices[0]?.finish_reason).toBe('length');
    // The stream went on after brixlet had started draining (it was really in flight).
    expect(afterDrainStarted).toBeGreaterThan(0);

    expect((await stop).code).toBe(0);
    expect(await run.exited).toBe(0);
    expect((await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', NAME])).trim()).toBe('0');
    expect(run.stderr).toContain('"signal":"SIGTERM"');
    expect(run.stderr).toContain('"msg":"shutdown complete"');
    expect(run.stderr).not.toMatch(/"level":(50|60)/);
  });
});

// The HEALTHCHECK command itself, on the host: the same node script, the same env twins.
describe('scripts/image/healthcheck.mjs', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function serving(status: number): Promise<number> {
    const s = createServer((_req, res) => res.writeHead(status).end(status === 200 ? '{"status":"ok"}' : '{}'));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as { port: number }).port;
  }
  async function check(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    const child = spawn(process.execPath, [`${repoRoot}scripts/image/healthcheck.mjs`], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    return { code, out };
  }

  it('is healthy when the components that listen answer 200, unhealthy when one does not or none listens', async () => {
    const [ok, failing, closed] = [await serving(200), await serving(503), await freePort()];
    // An agent-only container: the control port refuses connections, which means "not running here".
    expect(await check({ BRIXLET_AGENT_PORT: String(ok), BRIXLET_CONTROL_PORT: String(closed) })).toEqual({
      code: 0,
      out: `http://127.0.0.1:${ok}/healthz ok\nhttp://127.0.0.1:${closed}/healthz absent\n`,
    });
    expect((await check({ BRIXLET_AGENT_PORT: String(ok), BRIXLET_CONTROL_PORT: String(failing) })).code).toBe(1);
    expect((await check({ BRIXLET_AGENT_PORT: String(closed), BRIXLET_CONTROL_PORT: String(closed) })).code).toBe(1);
    expect((await check({ BRIXLET_HEALTHCHECK_URL: `http://127.0.0.1:${failing}/healthz` })).code).toBe(1);
    expect((await check({ BRIXLET_HEALTHCHECK_URL: `http://127.0.0.1:${ok}/healthz, http://127.0.0.1:${closed}/healthz` })).code).toBe(0);
  });
});
