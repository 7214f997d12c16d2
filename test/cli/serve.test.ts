import { createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { cli, startCli } from '../helpers/cli.js';
import { canBind, freePort } from '../helpers/ports.js';

describe('serve', () => {
  it('prints a table of URLs when not asked for JSON, and logs the effective config to stderr', async () => {
    const run = startCli(['agent', '--agent.port', '0', '--agent.host', '127.0.0.1'], { BRIXLET_LOG_FORMAT: 'json' });
    const first = await run.stdout.firstLine();
    expect(first).toMatch(/^brixlet \S+ — agent for node /);
    await vi.waitFor(() => expect(run.stdout.text).toContain('Press Ctrl-C to stop.'), { timeout: 15_000 });
    expect(run.stdout.text).toMatch(/^ {2}agent +http:\/\/127\.0\.0\.1:\d+ /m);
    const configLine = run.stderr.text.split('\n').find((l) => l.includes('effective configuration'));
    expect(JSON.parse(configLine as string)).toMatchObject({ config: { agent: { host: '127.0.0.1', port: 0 } }, sources: { 'agent.port': 'flag --agent.port' } });
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(await run.code).toBe(0);
  });

  it('exits 1 with BRX_ERR_HTTP_LISTEN naming the port, and releases what had started', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    // The coordinator binds first, then the agent fails on the taken port: the coordinator must be closed again.
    const [gatewayPort, controlPort] = [await freePort(), await freePort()];
    const r = await cli(
      ['up', '--agent.port', String(port), '--agent.host', '127.0.0.1', '--gateway.port', String(gatewayPort), '--control.port', String(controlPort), '--gateway.host', '127.0.0.1', '--control.host', '127.0.0.1'],
      { BRIXLET_LOG_LEVEL: 'silent' },
    );
    blocker.close();
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`brixlet: cannot listen on 127.0.0.1:${port} for agent: address already in use; change it with --agent.port [BRX_ERR_HTTP_LISTEN]`);
    expect(await canBind(gatewayPort)).toBe(true);
    expect(await canBind(controlPort)).toBe(true);
  });
});
