// The built `brixlet up --agents 2`: two agents in one process, both in the coordinator's ring with
// their own peer addresses, both following its version; `brixlet kv --socket` reaches either shard.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstLine, run, spawnBrixlet } from './cli-process.js';

// Peer ports of its own (a fixed default could be taken by another test or service).
const peerBase = 20_000 + Math.floor(Math.random() * 20_000);
const root = mkdtempSync(join(tmpdir(), 'brixlet-e2e-agents-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('brixlet up --agents 2 (built, spawned)', () => {
  const up = spawnBrixlet(['up', '--agents', '2', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.host', '127.0.0.1', '--control.host', '127.0.0.1', '--gateway.host', '127.0.0.1', '--kv.peer-port', String(peerBase), '--json']);
  afterAll(async () => {
    up.child.kill('SIGTERM');
    expect((await up.exited).code).toBe(0);
    expect(up.stderr).not.toMatch(/"level":(50|60)/);
  });

  it('lists both agents, publishes both in the ring, and each agent follows its version', async () => {
    const line = JSON.parse(await firstLine(up, 30_000)) as { control: string; agent: string; kvSocket: string; agents: { node: string; url: string; kvSocket: string; peerAddress: string }[] };
    expect(line.agents).toHaveLength(2);
    expect(line.agent).toBe(line.agents[0]!.url);
    const ring = (await (await fetch(`${line.control}/v1/ring`)).json()) as { version: number; members: { node: string; peerAddress: string }[] };
    expect(ring.members.map((m) => m.node)).toEqual(line.agents.map((a) => a.node));
    expect(ring.members.map((m) => m.peerAddress)).toEqual([`127.0.0.1:${peerBase}`, `127.0.0.1:${peerBase + 1}`]);
    for (const a of line.agents) {
      const kv = await fetch(`${a.url}/v1/kvcache`);
      expect(kv.status).toBe(200);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toContain(`brixlet_kvcache_ring_version ${ring.version}\n`);
      expect(metrics).toContain('brixlet_kvcache_ring_members 2\n');
    }

    // Each shard is its own: a block put through agent 0's socket is not in agent 1's.
    const [a0, a1] = line.agents as [(typeof line.agents)[0], (typeof line.agents)[0]];
    expect(a0.kvSocket).not.toBe(a1.kvSocket);
    const block = join(root, 'block.bin');
    writeFileSync(block, Buffer.alloc(4096, 7));
    const put = await run(['kv', 'put', '--text', 'e2e ring block', '--file', block, '--socket', a0.kvSocket]);
    expect([put.code, put.stderr]).toEqual([0, '']);
    const s0 = JSON.parse((await run(['kv', 'stats', '--json', '--socket', a0.kvSocket])).stdout) as { entries: number; socket: string };
    const s1 = JSON.parse((await run(['kv', 'stats', '--json', '--socket', a1.kvSocket])).stdout) as { entries: number; socket: string };
    expect(s0).toMatchObject({ entries: 1, socket: a0.kvSocket });
    expect(s1).toMatchObject({ entries: 0, socket: a1.kvSocket });
  });
});
