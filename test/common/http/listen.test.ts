import { createServer as netServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createServer } from '../../../src/common/http/create-server.js';
import { listen, urlFor } from '../../../src/common/http/listen.js';
import { silentLog, testMetrics } from '../../helpers/apps.js';

describe('listen', () => {
  it('returns a loopback URL for wildcard binds and serves on it', async () => {
    const app = await createServer({ name: 'l', title: 'l', version: '0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    const url = await listen(app, { host: '0.0.0.0', port: 0, server: 'agent', flag: '--agent.port' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/anything`);
    expect(res.status).toBe(404);
    await app.close();
  });

  it('names the port and the flag when the port is taken', async () => {
    const blocker = netServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const app = await createServer({ name: 'l', title: 'l', version: '0', log: silentLog, bodyLimit: 1024, metrics: testMetrics() });
    await expect(listen(app, { host: '127.0.0.1', port, server: 'gateway', flag: '--gateway.port' })).rejects.toMatchObject({
      code: 'BRX_ERR_HTTP_LISTEN',
      message: `cannot listen on 127.0.0.1:${port} for gateway: address already in use; change it with --gateway.port`,
    });
    await app.close();
    blocker.close();
  });

  it('formats URLs for each address family', () => {
    expect(urlFor('0.0.0.0', 80)).toBe('http://127.0.0.1:80');
    expect(urlFor('::', 80)).toBe('http://[::1]:80');
    expect(urlFor('::1', 80)).toBe('http://[::1]:80');
    expect(urlFor('10.0.0.5', 9464)).toBe('http://10.0.0.5:9464');
  });
});
