import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaultClient, readTokenFile } from '../../../src/cli/commands/fault-client.js';
import { BrixletError } from '../../../src/common/errors.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
let reply: (res: ServerResponse) => void = (res) => res.end('{}');
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      reply(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const answer = (status: number, text: string) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
};

async function thrown(p: Promise<unknown>): Promise<BrixletError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BrixletError);
  return err as BrixletError;
}

describe('readTokenFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-fault-client-'));

  it('reads and trims the token', async () => {
    writeFileSync(join(dir, 't'), '  secret-token\n');
    await expect(readTokenFile(join(dir, 't'))).resolves.toBe('secret-token');
  });

  it('a missing flag, an empty file and an unreadable file are usage errors (exit 2) that say which', async () => {
    expect((await thrown(readTokenFile(undefined))).params.reason).toMatch(/--token-file FILE is required/);
    writeFileSync(join(dir, 'empty'), ' \n');
    const empty = await thrown(readTokenFile(join(dir, 'empty')));
    expect(empty.code).toBe('BRX_ERR_CLI_USAGE');
    expect(empty.exitCode).toBe(2);
    expect(empty.params.reason).toMatch(/is empty/);
    expect((await thrown(readTokenFile(join(dir, 'nope')))).params.reason).toMatch(/cannot read the token file .*nope.*ENOENT/);
  });
});

describe('createFaultClient', () => {
  it('refuses an agent that is not an http(s) URL', () => {
    expect(() => createFaultClient('gpu-node-1:9464', 't')).toThrow(/--agent must be/);
    expect(() => createFaultClient('not a url', 't')).toThrow(/--agent must be a URL/);
    expect(() => createFaultClient('ftp://host', 't')).toThrow(/http\(s\) URL/);
  });

  it('sends the bearer token and JSON body to the path under the agent URL, even with a base path', async () => {
    seen.length = 0;
    reply = answer(200, '{"rules":[]}');
    const c = createFaultClient(`${base}/prefix`, 'tok');
    const r = await c.request<{ rules: unknown[] }>('POST', '/v1/faults', { json: { effect: { xid: 79 } } });
    expect(r).toEqual({ ok: true, body: { rules: [] } });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/prefix/v1/faults', body: '{"effect":{"xid":79}}' });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json', accept: 'application/json' });
  });

  it('sends TOML as application/toml and nothing for a bare GET', async () => {
    seen.length = 0;
    reply = answer(200, '{}');
    const c = createFaultClient(`${base}/`, 'tok');
    await c.request('POST', 'v1/faults/import', { toml: 'version = "0.2.0"' });
    await c.request('GET', '/v1/faults');
    expect(seen[0]).toMatchObject({ url: '/v1/faults/import', body: 'version = "0.2.0"' });
    expect(seen[0]!.headers['content-type']).toBe('application/toml');
    expect(seen[1]).toMatchObject({ method: 'GET', body: '' });
    expect(seen[1]!.headers['content-type']).toBeUndefined();
  });

  it('an error body with a code is a refusal, not an exception', async () => {
    reply = answer(404, '{"error":{"code":"BRX_ERR_FAULT_RULE_NOT_FOUND","message":"no rule x"}}');
    const r = await createFaultClient(base, 't').request('DELETE', '/v1/faults/x');
    expect(r).toEqual({ ok: false, error: { status: 404, code: 'BRX_ERR_FAULT_RULE_NOT_FOUND', message: 'no rule x' } });
    reply = answer(401, '{"error":{"code":"BRX_ERR_UNAUTHORIZED"}}');
    const r2 = await createFaultClient(base, 't').request('GET', '/v1/faults');
    expect(r2).toEqual({ ok: false, error: { status: 401, code: 'BRX_ERR_UNAUTHORIZED', message: '' } });
  });

  it('an answer that is not the fault API\'s JSON means no agent (BRX_ERR_FAULT_AGENT)', async () => {
    reply = answer(200, '<html>hello</html>');
    const html = await thrown(createFaultClient(base, 't').request('GET', '/v1/faults'));
    expect(html.code).toBe('BRX_ERR_FAULT_AGENT');
    expect(html.params.reason).toBe('HTTP 200, not JSON: <html>hello</html>');
    reply = answer(500, '{"message":"boom"}');
    expect((await thrown(createFaultClient(base, 't').request('GET', '/v1/faults'))).params.reason).toMatch(/HTTP 500 without an error code/);
  });

  it('a closed port is unreachable, with the URL and the socket error', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await thrown(createFaultClient(`http://127.0.0.1:${port}`, 't').request('GET', '/v1/faults'));
    expect(err.code).toBe('BRX_ERR_FAULT_AGENT');
    expect(err.params).toMatchObject({ url: `http://127.0.0.1:${port}/v1/faults`, reason: 'ECONNREFUSED' });
  });
});
