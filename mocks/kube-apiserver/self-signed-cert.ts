/**
 * A self-signed X.509 certificate for the fake API server, built with node:crypto alone.
 *
 * Why not `openssl req -x509`: it needs the openssl binary on PATH (slim Node images lack it),
 * costs a process spawn per server, and its flags differ across versions. The DER below is the
 * smallest certificate OpenSSL (and so Node's TLS) accepts as both trust anchor and server
 * certificate: v3, ECDSA P-256 with SHA-256, basicConstraints CA:TRUE, keyUsage
 * digitalSignature+keyCertSign, subjectKeyIdentifier, and subjectAltName for the host names/IPs.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedCert {
  /** PEM certificate; also the CA a client must trust. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
}

export interface SelfSignedCertOptions {
  /** Host names and IP addresses for subjectAltName. Default: localhost, 127.0.0.1, ::1. */
  readonly hosts?: readonly string[];
  readonly commonName?: string;
  readonly validDays?: number;
  readonly now?: Date;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  subjectAltName: '2.5.29.17',
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const explicit = (n: number, ...c: Buffer[]): Buffer => tlv(0xa0 + n, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/**
 * A DER INTEGER for a non-negative big-endian value. DER demands the minimal encoding: leading zero
 * bytes are dropped (a random serial starting with 0x00 is otherwise rejected as "illegal padding"),
 * and one 0x00 is added back only when the top bit is set, since DER integers are signed.
 */
export function derPositiveInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return tlv(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from(parseInt(g, 16).toString(16).padStart(4, '0'), 'hex')));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

export function createSelfSignedCert(options: SelfSignedCertOptions = {}): SelfSignedCert {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const now = options.now ?? new Date();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid(OID.commonName), tlv(0x0c, Buffer.from(options.commonName ?? 'brixlet-fake-kube-apiserver')))));
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  // The key id is the SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1).
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
  const altNames = hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h))));
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(bool(true))),
    // keyUsage BIT STRING: digitalSignature (bit 0) and keyCertSign (bit 5); 2 unused bits.
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x02, 0x84]))),
    extension(OID.subjectKeyIdentifier, false, octets(keyId)),
    extension(OID.subjectAltName, false, seq(...altNames)),
  );
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + (options.validDays ?? 365) * 24 * 60 * 60 * 1000);
  const tbs = seq(
    explicit(0, tlv(0x02, Buffer.from([2]))),
    derPositiveInteger(randomBytes(16)),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants it
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
