/**
 * Batched GET clients for bench:kv-remote's peers, equivalent to the peer client's MGET: one
 * persistent loopback connection, one round trip per batch (Redis MGET, memcached multi-key `get`),
 * and each value copied once from the received chunks into the caller's destination view.
 */
import { type Socket, connect } from 'node:net';

/** What the parser wants next after a line: another line, `n` value bytes (+ CRLF) for item i, or the end of the reply. */
type Next = { readonly line: true } | { readonly bulk: number; readonly item: number; readonly last?: boolean } | { readonly done: true };

/** Streams a line-and-bulk reply (RESP, memcached text) into destination views with one copy per byte. */
class LineBulkReader {
  private line = '';
  private want: Next = { line: true };
  private bulkGot = 0;
  private skipCrlf = 0;
  /** The reply ends with the CRLF being skipped. */
  private finishing = false;
  private dests: readonly Uint8Array[] = [];
  private lengths: number[] = [];
  private resolve: ((lengths: number[]) => void) | undefined;
  private reject: ((e: Error) => void) | undefined;

  constructor(private readonly onLine: (line: string, lengths: number[]) => Next) {}

  expect(dests: readonly Uint8Array[]): Promise<number[]> {
    this.dests = dests;
    this.lengths = new Array<number>(dests.length).fill(0);
    this.want = { line: true };
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private done(): void {
    const r = this.resolve;
    this.resolve = undefined;
    this.finishing = false;
    r?.(this.lengths);
  }

  fail(e: Error): void {
    this.reject?.(e);
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.resolve !== undefined) {
      if (this.skipCrlf > 0) {
        const n = Math.min(this.skipCrlf, chunk.length - at);
        this.skipCrlf -= n;
        at += n;
        if (this.skipCrlf === 0 && this.finishing) this.done();
        continue;
      }
      const w = this.want;
      if ('bulk' in w) {
        const n = Math.min(w.bulk - this.bulkGot, chunk.length - at);
        (this.dests[w.item] as Uint8Array).set(chunk.subarray(at, at + n), this.bulkGot);
        this.bulkGot += n;
        at += n;
        if (this.bulkGot === w.bulk) {
          this.lengths[w.item] = w.bulk;
          this.bulkGot = 0;
          this.skipCrlf = 2;
          this.finishing = w.last === true;
          this.want = { line: true };
        }
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        this.line += chunk.toString('latin1', at);
        return;
      }
      this.line += chunk.toString('latin1', at, nl);
      at = nl + 1;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      const next = this.onLine(line, this.lengths);
      if ('done' in next) {
        this.done();
        return;
      }
      this.want = next;
    }
  }
}

async function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

export interface BatchGetClient {
  /** Fills dests[i] with the value of keys[i]; returns each value's length (0 = missing). */
  get(keys: readonly string[], dests: readonly Uint8Array[]): Promise<number[]>;
  set(key: string, value: Buffer): Promise<void>;
  /** How many of the keys exist (one round trip). */
  exists(keys: readonly string[]): Promise<number>;
  close(): void;
}

function resp(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Redis: MGET for a batch; SET and EXISTS for filling and probing. */
export async function redisClient(port: number): Promise<BatchGetClient> {
  const s = await open(port);
  let item = -1;
  let count = 0;
  let simple: ((line: string) => void) | undefined;
  const reader = new LineBulkReader((line) => {
    if (simple !== undefined) {
      const f = simple;
      simple = undefined;
      f(line);
      return { done: true };
    }
    if (line.startsWith('*')) {
      count = Number(line.slice(1));
      item = 0;
      return count === 0 ? { done: true } : { line: true };
    }
    if (line.startsWith('$')) {
      const n = Number(line.slice(1));
      const i = item++;
      if (n < 0) return item === count ? { done: true } : { line: true };
      return { bulk: n, item: i, last: item === count };
    }
    throw new Error(`redis: ${line}`);
  });
  s.on('data', (c: Buffer) => reader.push(c));
  s.on('error', (e) => reader.fail(e));
  const simpleCall = (args: readonly (string | Buffer)[]): Promise<string> => {
    const p = new Promise<string>((resolve) => (simple = resolve));
    void reader.expect([]);
    s.write(resp(args));
    return p;
  };
  return {
    async get(keys, dests) {
      const p = reader.expect(dests);
      s.write(resp(['MGET', ...keys]));
      const lengths = await p;
      return lengths;
    },
    async set(key, value) {
      const r = await simpleCall(['SET', key, value]);
      if (r !== '+OK') throw new Error(`redis SET: ${r}`);
    },
    async exists(keys) {
      const r = await simpleCall(['EXISTS', ...keys]);
      return Number(r.slice(1));
    },
    close: () => s.destroy(),
  };
}

/** memcached text protocol: `get k1 … kn` for a batch. */
export async function memcachedClient(port: number): Promise<BatchGetClient> {
  const s = await open(port);
  let index = new Map<string, number>();
  let simple: ((line: string) => void) | undefined;
  const reader = new LineBulkReader((line) => {
    if (simple !== undefined) {
      const f = simple;
      simple = undefined;
      f(line);
      return { done: true };
    }
    if (line === 'END') return { done: true };
    if (line.startsWith('VALUE ')) {
      const [, key, , bytes] = line.split(' ');
      return { bulk: Number(bytes), item: index.get(key as string) ?? -1 };
    }
    throw new Error(`memcached: ${line}`);
  });
  s.on('data', (c: Buffer) => reader.push(c));
  s.on('error', (e) => reader.fail(e));
  return {
    async get(keys, dests) {
      index = new Map(keys.map((k, i) => [k, i]));
      const p = reader.expect(dests);
      s.write(`get ${keys.join(' ')}\r\n`);
      return p;
    },
    async set(key, value) {
      const p = new Promise<string>((resolve) => (simple = resolve));
      void reader.expect([]);
      s.write(Buffer.concat([Buffer.from(`set ${key} 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]));
      const r = await p;
      if (r !== 'STORED') throw new Error(`memcached set: ${r}`);
    },
    async exists() {
      throw new Error('not used');
    },
    close: () => s.destroy(),
  };
}
