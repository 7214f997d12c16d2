import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { formatEndpoint, parseEndpoint } from '../../../src/common/zmtp/endpoint.js';
import { ZmtpPubSocket, ZmtpSubSocket } from '../../../src/common/zmtp/sockets.js';

describe('ZMQ endpoints', () => {
  it('parses tcp (wildcard, names, IPv6) and ipc endpoints and formats them back', () => {
    expect(parseEndpoint('tcp://*:5557')).toEqual({ kind: 'tcp', host: undefined, port: 5557 });
    expect(parseEndpoint('tcp://10.0.0.5:5558')).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 5558 });
    expect(parseEndpoint('tcp://[::1]:1')).toEqual({ kind: 'tcp', host: '::1', port: 1 });
    expect(parseEndpoint('ipc:///tmp/x.sock')).toEqual({ kind: 'ipc', path: '/tmp/x.sock' });
    for (const e of ['tcp://*:5557', 'tcp://[::1]:1', 'ipc:///tmp/x.sock', 'tcp://engine-0:5557']) expect(formatEndpoint(parseEndpoint(e))).toBe(e);
  });

  it('rejects what it cannot serve with BRX_ERR_ZMTP_ENDPOINT', () => {
    for (const e of ['inproc://x', 'tcp://host', 'tcp://h:99999', 'ipc://', 'udp://h:1', 'tcp://a:b:1']) {
      let err: unknown;
      try {
        parseEndpoint(e);
      } catch (x) {
        err = x;
      }
      expect(isBrixletError(err, 'BRX_ERR_ZMTP_ENDPOINT')).toBe(true);
    }
  });

  it('carries PUB/SUB over an ipc:// unix socket and removes it on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-zmtp-'));
    try {
      const pub = new ZmtpPubSocket();
      await pub.bind(`ipc://${join(dir, 'ev.sock')}`);
      const got: string[] = [];
      const sub = new ZmtpSubSocket((f) => got.push(f[1]!.toString()));
      sub.subscribe('');
      sub.connect(pub.endpoint);
      for (let i = 0; i < 1000 && pub.subscriptionCount === 0; i++) await new Promise((r) => setTimeout(r, 10));
      pub.send([Buffer.from('t'), Buffer.from('hello')]);
      for (let i = 0; i < 1000 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['hello']);
      await sub.close();
      await pub.close();
      await pub.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
