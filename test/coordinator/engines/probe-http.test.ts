import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProbeHttp, type ProbeHttp } from '../../../src/coordinator/engines/probe-http.js';

// A plain HTTP server that misbehaves on purpose: the faults a prober must survive are not ones a
// working engine (or the mock engine) produces.
let server: Server;
let base: string;
let http: ProbeHttp;

beforeEach(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') res.end('fine');
    else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000).unref();
    else if (req.url === '/huge') {
      res.write('x'.repeat(64 * 1024));
      res.end('y'.repeat(64 * 1024));
    } else if (req.url === '/reset') req.socket.destroy();
    else {
      res.statusCode = 503;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = createProbeHttp({ timeoutMs: 150, maxBytes: 100 * 1024 });
});
afterEach(async () => {
  await http.dispose();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const never = new AbortController().signal;

describe('createProbeHttp', () => {
  it('returns status and body', async () => {
    await expect(http.get(`${base}/ok`, never)).resolves.toEqual({ status: 200, body: 'fine' });
    await expect(http.get(`${base}/other`, never)).resolves.toEqual({ status: 503, body: '' });
  });

  it('gives up after the timeout with a one-line reason', async () => {
    // The message proves the probe's own timeout ended it (not the slow server answering at last).
    await expect(http.get(`${base}/slow`, never)).rejects.toThrow('timed out after 150 ms');
  });

  it('refuses bodies over the limit', async () => {
    await expect(http.get(`${base}/huge`, never)).rejects.toThrow('response over 102400 bytes');
  });

  it('names connection failures', async () => {
    await expect(http.get(`${base}/reset`, never)).rejects.toThrow(/socket|closed|reset/i);
    const port = (server.address() as AddressInfo).port;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    server = createServer();
    server.listen(0);
    await expect(http.get(`http://127.0.0.1:${port}/ok`, never)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stops when its caller aborts', async () => {
    const ac = new AbortController();
    const pending = http.get(`${base}/slow`, ac.signal);
    ac.abort();
    await expect(pending).rejects.toThrow();
  });
});
