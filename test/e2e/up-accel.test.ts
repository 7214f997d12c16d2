// The built `brixlet up --accel sim:…`, spawned as a user runs it: eight simulated GPUs on the agent.
import { describe, expect, it, vi } from 'vitest';
import { firstLine, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.node-name', 'sim-node'];

/** /v1/accelerators answers 503 until the first sample: poll (20 s only ends a hang). */
async function accelerators(agent: string): Promise<{ node: string; devices: { index: number; vendor: string; health: { state: string } }[] }> {
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${agent}/v1/accelerators`);
    if (res.status === 200) return (await res.json()) as never;
    expect(res.status).toBe(503);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no accelerator snapshot within 20 s');
}

describe('brixlet up --accel sim:healthy-8x-h100 (built, spawned)', () => {
  it('serves eight healthy GPUs on /v1/accelerators and /metrics, then exits 0 on SIGTERM', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--accel', 'sim:healthy-8x-h100', '--json']);
    const urls = JSON.parse(await firstLine(p)) as { agent: string };

    const list = await accelerators(urls.agent);
    expect(list.node).toBe('sim-node');
    expect(list.devices.map((d) => `${d.vendor}:${d.index}:${d.health.state}`)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `nvidia:${i}:healthy`));
    const one = (await (await fetch(`${urls.agent}/v1/accelerators/7`)).json()) as { uuid: string };
    expect(one.uuid).toBe('GPU-f63af1b2-0c68-ca5a-1915-43c3a2936303');
    expect((await fetch(`${urls.agent}/readyz`)).status).toBe(200);

    const metrics = await (await fetch(`${urls.agent}/metrics`)).text();
    expect(metrics.match(/^DCGM_FI_DEV_GPU_TEMP\{[^}]*\} 41$/gm)).toHaveLength(8);
    expect(metrics).toContain('Hostname="sim-node"');

    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).toContain('"msg":"shutdown complete"');
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
  });

  it('says what it found in the start-up summary, and starts with no accelerator at all', async () => {
    const sim = spawnBrixlet(['up', ...EPHEMERAL, '--accel', 'sim:healthy-8x-h100']);
    await firstLine(sim);
    await vi.waitFor(() => expect(sim.stdout).toMatch(/^ {2}agent +http:\/\/\S+ +node sim-node, 8 GPUs \(sim:healthy-8x-h100\)/m), { timeout: 20_000 });
    sim.child.kill('SIGTERM');
    expect((await sim.exited).code).toBe(0);

    const none = spawnBrixlet(['agent', '--agent.port', '0', '--agent.node-name', 'cpu-node'], { BRIXLET_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1', BRIXLET_DCMI_LIBRARY: '/nonexistent/libdcmi.so' });
    expect(await firstLine(none)).toMatch(/agent for node cpu-node, no accelerators \(.*try --accel sim:healthy-8x-h100\)$/);
    none.child.kill('SIGTERM');
    expect((await none.exited).code).toBe(0);
  });

  it('exits 2 naming the scenario when it does not exist', async () => {
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--accel', 'sim:no-such-scenario'], { BRIXLET_LOG_LEVEL: 'silent' });
    expect((await p.exited).code).toBe(2);
    expect(p.stderr).toContain('BRX_ERR_ACCEL_SCENARIO');
  });
});
