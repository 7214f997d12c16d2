import { describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { LOOPBACK, startService } from '../../helpers/services.js';

describe('brixlet up (in-process)', () => {
  it('serves both apps, registers the agent with the coordinator, and drains on signal', async () => {
    const svc = await startService(['up', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.node-name', 'laptop', ...LOOPBACK]);
    expect(Object.keys(svc.urls)).toEqual(['gateway', 'control', 'agent', 'kvSocket']);
    const { gateway, control, agent } = svc.urls as Record<'gateway' | 'control' | 'agent', string>;

    expect(await (await fetch(`${agent}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${control}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${gateway}/v1/models`)).json()).toEqual({ object: 'list', data: [] });
    const nodes = (await (await fetch(`${control}/v1/nodes`)).json()) as { nodes: { name: string; agentUrl: string }[] };
    expect(nodes.nodes).toEqual([expect.objectContaining({ name: 'laptop', agentUrl: agent })]);
    expect((await fetch(`${agent}/v1/info`).then((r) => r.json())) as object).toMatchObject({ node: 'laptop' });

    expect(await svc.stop()).toBe(0);
    await expect(fetch(`${agent}/healthz`)).rejects.toThrow();
    await expect(fetch(`${gateway}/v1/models`)).rejects.toThrow();
  });

  it('a mistyped --accel sim: scenario exits 2 with "did you mean" and the shipped names', async () => {
    const r = await cli(['up', '--accel', 'sim:healthy-8x-h10', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', ...LOOPBACK]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid accelerator scenario healthy-8x-h10: no scenario of that name in');
    expect(r.stderr).toContain('did you mean healthy-8x-h100?');
    expect(r.stderr).toContain('shipped: ecc-dbe-xid48, gpu-lost-xid79,');
    const far = await cli(['up', '--accel', 'sim:xyz', '--agent.port', '0', '--gateway.port', '0', '--control.port', '0', ...LOOPBACK]);
    expect(far.code).toBe(2);
    expect(far.stderr).not.toContain('did you mean');
    expect(far.stderr).toContain('healthy-8x-h100');
  });
});
