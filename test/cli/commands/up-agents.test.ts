import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/common/config/load-config.js';
import { agentConfig, parseUpAgentsArg, portStep } from '../../../src/cli/commands/up-agents.js';
import type { ParsedArgs } from '../../../src/cli/types.js';
import { cli } from '../../helpers/cli.js';
import { LOOPBACK, startService } from '../../helpers/services.js';

const args = (agents?: string): ParsedArgs => ({ configFlags: {}, options: agents === undefined ? {} : { agents }, positionals: [] });

describe('up --agents (options)', () => {
  it('takes 1 to 16, default 1', () => {
    expect(parseUpAgentsArg(args())).toBe(1);
    expect(parseUpAgentsArg(args('3'))).toBe(3);
    for (const bad of ['0', '17', '-1', '1.5', 'two', '']) expect(() => parseUpAgentsArg(args(bad))).toThrow(/--agents must be a whole number from 1 to 16/);
  });

  it('steps ports by 2 only where the agent and peer runs would overlap', () => {
    expect(portStep(9464, 9465, 1)).toBe(1);
    expect(portStep(9464, 9465, 2)).toBe(2);
    expect(portStep(9000, 9465, 4)).toBe(1);
    expect(portStep(0, 9465, 4)).toBe(1);
  });

  it('gives agent i its own node name, slab directory, socket and ports; one agent keeps the configuration', () => {
    const { config } = loadConfig({ flags: { 'agent.nodeName': 'box', 'agent.port': '9464', 'agent.host': '0.0.0.0', 'kv.dir': '/dev/shm/brx', 'kv.socket': '/run/brixlet/kv.sock' } });
    expect(agentConfig(config, 0, 1, '/run/brixlet/kv.sock')).toBe(config);
    const a1 = agentConfig(config, 1, 2, '/tmp/brixlet-1000/kv.sock');
    expect(a1.agent.nodeName).toBe('box-1');
    expect(a1.agent.port).toBe(9466);
    expect(a1.kv.dir).toBe('/dev/shm/brx-1');
    expect(a1.kv.socket).toBe('/tmp/brixlet-1000/kv-1.sock');
    expect(a1.kv.peerPort).toBe(9467);
    expect(a1.kv.peerAdvertise).toBe('127.0.0.1:9467');
    expect(a1.faults.enabled).toBe(false);
    expect(agentConfig(config, 0, 2, '/run/brixlet/kv.sock')).toMatchObject({ agent: { nodeName: 'box-0', port: 9464 }, kv: { dir: '/dev/shm/brx-0', socket: '/run/brixlet/kv-0.sock', peerPort: 9465 } });
    // A configured advertise address is kept; peer port 0 (off) stays off for every agent.
    const { config: off } = loadConfig({ flags: { 'kv.peerPort': '0' } });
    expect(agentConfig(off, 1, 2, '/run/brixlet/kv.sock').kv).toMatchObject({ peerPort: 0, peerAdvertise: '' });
  });
});

describe('brixlet up --agents 2 (in-process)', () => {
  it('runs two agents, both in the ring with distinct peer addresses, both following its version', async () => {
    // Peer ports of their own (a fixed default could be taken by another test or service).
    const peerBase = 20_000 + Math.floor(Math.random() * 20_000);
    const svc = await startService(['up', '--agents', '2', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.node-name', 'lap', '--kv.peer-port', String(peerBase), ...LOOPBACK]);
    try {
      const line = JSON.parse(svc.run.stdout.text.split('\n')[0]!) as { control: string; agent: string; kvSocket: string; agents: { node: string; url: string; kvSocket: string; peerAddress: string }[] };
      expect(line.agents.map((a) => a.node)).toEqual(['lap-0', 'lap-1']);
      expect(line.agent).toBe(line.agents[0]!.url);
      expect(line.kvSocket).toBe(line.agents[0]!.kvSocket);
      expect(new Set(line.agents.map((a) => a.kvSocket)).size).toBe(2);
      const ring = (await (await fetch(`${line.control}/v1/ring`)).json()) as { version: number; members: { node: string; peerAddress: string }[] };
      expect(ring.members.map((m) => m.node)).toEqual(['lap-0', 'lap-1']);
      expect(ring.members.map((m) => m.peerAddress)).toEqual(line.agents.map((a) => a.peerAddress));
      expect(ring.members.map((m) => m.peerAddress)).toEqual([`127.0.0.1:${peerBase}`, `127.0.0.1:${peerBase + 1}`]);
      for (const a of line.agents) {
        expect((await fetch(`${a.url}/v1/kvcache`)).status).toBe(200);
        const metrics = await (await fetch(`${a.url}/metrics`)).text();
        expect(metrics).toContain(`brixlet_kvcache_ring_version ${ring.version}\n`);
        expect(metrics).toContain('brixlet_kvcache_ring_members 2\n');
      }
      // The ring is open to read, its keys are not.
      expect((await fetch(`${line.control}/v1/ring?node=lap-0`)).status).toBe(401);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('refuses --agents with --kv.pools', async () => {
    const r = await cli(['up', '--agents', '2', '--kv.pools', 'name=b,socket=/tmp/x/b.sock,dir=/dev/shm/x-b', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', ...LOOPBACK]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--agents above 1 cannot be combined with --kv.pools');
  });
});
