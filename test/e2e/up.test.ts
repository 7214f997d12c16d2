// The built `brixlet up`, spawned as a user runs it: serves both apps, stops cleanly on SIGTERM.
import { createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { firstLine, run, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0'];

describe('brixlet up (built, spawned)', () => {
  it('serves both /healthz and exits 0 on SIGTERM after a complete shutdown', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--json']);
    const { kvSocket, ...urls } = JSON.parse(await firstLine(p)) as { agent: string; gateway: string; control: string; kvSocket: string };
    expect(Object.keys(urls).sort()).toEqual(['agent', 'control', 'gateway']);
    for (const u of Object.values(urls)) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(kvSocket).toMatch(/\/kv\.sock$/);

    expect(await (await fetch(`${urls.agent}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${urls.control}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${urls.control}/readyz`)).status).toBe(200);
    expect((await fetch(`${urls.gateway}/v1/models`)).status).toBe(200);
    const nodes = (await (await fetch(`${urls.control}/v1/nodes`)).json()) as { nodes: { agentUrl: string }[] };
    expect(nodes.nodes.map((n) => n.agentUrl)).toEqual([urls.agent]);
    // up made its own credentials: its agent reported (above), anyone else's write is refused.
    const name = (nodes.nodes[0] as unknown as { name: string }).name;
    const forged = { name, agentUrl: 'http://attacker:1', version: 'x', components: [], bootId: 'forged', seq: 1, heartbeatMs: 3_600_000 };
    for (const method of ['PUT', 'DELETE']) {
      const res = await fetch(`${urls.control}/v1/nodes/${name}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'PUT' && { body: JSON.stringify(forged) }) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BRX_ERR_REGISTRY_UNAUTHORIZED');
    }
    expect(((await (await fetch(`${urls.control}/v1/nodes`)).json()) as { nodes: { agentUrl: string }[] }).nodes.map((n) => n.agentUrl)).toEqual([urls.agent]);
    expect(await (await fetch(`${urls.control}/metrics`)).text()).toContain('brixlet_control_writes_unauthenticated 0');
    const metrics = await (await fetch(`${urls.agent}/metrics`)).text();
    expect(metrics).toContain('brixlet_process_cpu_seconds_total');

    p.child.kill('SIGTERM');
    // 0, not 1: the drain finished before its own deadline (--shutdown.timeout); a hang ends the test.
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr).toContain('"msg":"shutdown complete"');
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
  });

  it('exits 0 on SIGINT too, after printing the URL table', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL]);
    expect(await firstLine(p)).toMatch(/^brixlet \S+ — coordinator and agent in one process$/);
    await vi.waitFor(() => expect(p.stdout).toMatch(/^ {2}gateway +http:\/\/127\.0\.0\.1:\d+/m), { timeout: 20_000 });
    expect(p.stdout).not.toContain('\x1b[');
    p.child.kill('SIGINT');
    expect((await p.exited).code).toBe(0);
  });

  it('exits 1 with BRX_ERR_HTTP_LISTEN naming the port when it is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
    const port = (blocker.address() as { port: number }).port;
    const r = await run(['up', '--agent.port', '0', '--gateway.port', String(port), '--control.port', '0'], { BRIXLET_LOG_LEVEL: 'silent' });
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 0.0.0.0:${port} for gateway: address already in use; change it with --gateway.port [BRX_ERR_HTTP_LISTEN]`);
  });

  it('exits 2 listing every config problem, and takes ports from env twins', async () => {
    const bad = await run(['up', '--control.port', 'x'], { BRIXLET_GATEWAY_PORT: '-5' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid configuration (2 problem(s)) [BRX_ERR_CFG_INVALID]');
    const p = spawnBrixlet(['up', '--json'], { BRIXLET_AGENT_PORT: '0', BRIXLET_GATEWAY_PORT: '0', BRIXLET_CONTROL_PORT: '0' });
    const urls = JSON.parse(await firstLine(p)) as Record<string, string>;
    expect((await fetch(`${urls.gateway}/healthz`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  });

  it('answers --help, --version and unknown commands like a CLI should', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: brixlet <command> [flags]');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const unknown = await run(['serve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('commands: up, agent, coordinator, diagnose, fault, chaos, fleet, kv, optimize, token, mock-engine, profile, config, version');
  });
});
