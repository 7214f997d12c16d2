import { X509Certificate } from 'node:crypto';
import { createServer, get } from 'node:https';
import { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCert, derPositiveInteger } from '../../../mocks/kube-apiserver/self-signed-cert.js';

async function handshake(cert: { cert: string; key: string }, host: string, servername?: string): Promise<string> {
  const server = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve, reject) => {
      get({ host, port, ca: cert.cert, servername }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('createSelfSignedCert', () => {
  it('builds a CA certificate valid for the loopback names that verifies with its own key', () => {
    const now = new Date('2030-05-01T12:00:00Z');
    const x = new X509Certificate(createSelfSignedCert({ now, validDays: 2 }).cert);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkIP('::1')).toBe('::1');
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('10.0.0.1')).toBeUndefined();
    expect(new Date(x.validFrom).getTime()).toBeLessThan(now.getTime());
    expect(new Date(x.validTo).getTime()).toBe(now.getTime() + 2 * 86_400_000);
  });

  it('switches to GeneralizedTime for dates past 2049', () => {
    const x = new X509Certificate(createSelfSignedCert({ now: new Date('2049-12-31T00:00:00Z'), validDays: 30 }).cert);
    expect(new Date(x.validFrom).getUTCFullYear()).toBe(2049);
    expect(new Date(x.validTo).toISOString()).toBe('2050-01-30T00:00:00.000Z');
  });

  it('is accepted by Node TLS as trust anchor for an IP and a host name, and rejected for another name', async () => {
    const cert = createSelfSignedCert({ hosts: ['localhost', '127.0.0.1'] });
    expect(await handshake(cert, '127.0.0.1')).toBe('ok');
    expect(await handshake(cert, '127.0.0.1', 'localhost')).toBe('ok');
    await expect(handshake(cert, '127.0.0.1', 'example.com')).rejects.toThrow(/altnames|Hostname/i);
  });
});

describe('derPositiveInteger', () => {
  it('encodes minimally: no leading zero bytes, one 0x00 only before a set top bit', () => {
    const hex = (b: Buffer) => derPositiveInteger(b).toString('hex');
    expect(hex(Buffer.from([0x00, 0x00, 0x12, 0x34]))).toBe('02021234');
    expect(hex(Buffer.from([0x00, 0x9a]))).toBe('0202009a');
    expect(hex(Buffer.from([0x9a, 0x01]))).toBe('0203009a01');
    expect(hex(Buffer.from([0x00, 0x00]))).toBe('020100');
    expect(hex(Buffer.from([0x7f]))).toBe('02017f');
  });
});
