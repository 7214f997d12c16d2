import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainKeys } from '../../../src/kvcache/client/chain-keys.js';
import { NO_HOLDER } from '../../../src/kvcache/directory-types.js';
import { PeerItem } from '../../../src/kvcache/peer/peer-protocol.js';
import type { Transport } from '../../../src/kvcache/peer/transport.js';
import { startKvService } from '../../../src/kvcache/service.js';
import type { KvService } from '../../../src/kvcache/types.js';
import { cli } from '../../helpers/cli.js';
import { shardOptions } from '../../kvcache/shard-fixture.js';

const MiB = 1 << 20;
let root: string;
let service: KvService;
let sock: string[];

beforeAll(async () => {
  root = mkdtempSync('/dev/shm/brixlet-kv-cli-test-');
  service = await startKvService(shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), slabSize: 16 * MiB, slabCount: 2, pageSize: MiB }), {
    log: pino({ level: 'silent' }),
  });
  sock = ['--socket', service.socketPath];
});

afterAll(async () => {
  await service.close();
  rmSync(root, { recursive: true, force: true });
});

describe('brixlet kv (against an in-process shard)', () => {
  it('put --text from a file, then get it back to stdout and to --out', async () => {
    const file = join(root, 'block.bin');
    writeFileSync(file, 'hello from the kv cli\n');
    const put = await cli(['kv', 'put', '--text', 'greeting', '--file', file, ...sock]);
    const key = chainKeys([Buffer.from('greeting')]).toString('hex');
    expect([put.code, put.stderr, put.stdout]).toEqual([0, '', `stored ${key} (22 bytes)\n`]);
    const again = await cli(['kv', 'put', '--key', key, '--file', file, ...sock]);
    expect([again.code, again.stdout]).toEqual([0, `${key} is already cached\n`]);

    const get = await cli(['kv', 'get', '--text', 'greeting', ...sock]);
    expect([get.code, get.stdout]).toEqual([0, 'hello from the kv cli\n']);
    const out = join(root, 'copy.bin');
    const toFile = await cli(['kv', 'get', '--key', key.toUpperCase(), '--out', out, ...sock]);
    expect([toFile.code, toFile.stdout, toFile.stderr]).toEqual([0, '', `wrote 22 bytes to ${out}\n`]);
    expect(readFileSync(out, 'utf8')).toBe('hello from the kv cli\n');
  });

  it('get of a key that is not cached exits 1, and namespaces do not share blocks', async () => {
    const file = join(root, 'ns.bin');
    writeFileSync(file, 'x');
    expect((await cli(['kv', 'put', '--text', 'ns-test', '--file', file, '--namespace', 'a', ...sock])).code).toBe(0);
    const miss = await cli(['kv', 'get', '--text', 'ns-test', '--namespace', 'b', ...sock]);
    expect([miss.code, miss.stdout]).toEqual([1, '']);
    expect(miss.stderr).toMatch(/is not cached in namespace b/);
  });

  it('put --json reports the status, and a block above the block size is a usage error', async () => {
    const file = join(root, 'big.bin');
    writeFileSync(file, Buffer.alloc(8193));
    const r = await cli(['kv', 'put', '--text', 'big', '--file', file, '--namespace', 'small', '--block-size', '8KiB', ...sock]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the block is 8193 bytes; the namespace block size is 8192/);
    writeFileSync(file, Buffer.alloc(100));
    const ok = await cli(['kv', 'put', '--text', 'big', '--file', file, '--namespace', 'small', '--block-size', '8KiB', '--json', ...sock]);
    expect(JSON.parse(ok.stdout)).toEqual({ key: chainKeys([Buffer.from('big')]).toString('hex'), bytes: 100, status: 'OK' });
  });

  it('lookup prints the cached prefix with its leases, as a table and as JSON', async () => {
    const blocks = ['one', 'two', 'three'].map((t) => Buffer.from(t));
    const keys = chainKeys(blocks);
    const hex = [0, 1, 2].map((i) => keys.subarray(i * 16, i * 16 + 16).toString('hex'));
    for (const i of [0, 1]) {
      const f = join(root, `chain-${i}.bin`);
      writeFileSync(f, blocks[i] as Buffer);
      expect((await cli(['kv', 'put', '--key', hex[i] as string, '--file', f, '--namespace', 'chain', ...sock])).code).toBe(0);
    }
    const table = await cli(['kv', 'lookup', ...hex, '--namespace', 'chain', ...sock]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('2 of 3 block(s) cached');
    expect(lines[1]).toMatch(/^KEY\s+LEASE\s+SLAB\s+OFFSET\s+LENGTH$/);
    expect(lines[2]).toMatch(new RegExp(`^${hex[0]}\\s+\\d+\\s+${root}/slabs/slab-[0-9a-f]{8}-000\\d\\s+\\d+\\s+3$`));
    const json = JSON.parse((await cli(['kv', 'lookup', ...hex, '--namespace', 'chain', '--json', ...sock])).stdout);
    expect(json).toMatchObject({ requested: 3, hits: 2, blocks: [{ key: hex[0], length: 3 }, { key: hex[1], length: 3 }] });
    // LOOKUP_REMOTE on a shard without peers answers as LOOKUP.
    const remote = JSON.parse((await cli(['kv', 'lookup', ...hex, '--namespace', 'chain', '--json', '--remote-budget', '5', ...sock])).stdout);
    expect(remote).toMatchObject({ requested: 3, hits: 2, remote: 0 });
    expect((await cli(['kv', 'lookup', ...hex, '--namespace', 'chain', '--remote-budget', 'soon', ...sock])).code).toBe(2);
    // The CLI released its read leases.
    expect(service.summary().leases.read).toBe(0);
    expect((await cli(['kv', 'lookup', hex[2] as string, '--namespace', 'chain', ...sock])).code).toBe(1);
  });

  it('stats shows the summary and namespaces; --json gives the STATS object', async () => {
    const r = await cli(['kv', 'stats', ...sock]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^socket\\s+${service.socketPath}$`, 'm'));
    expect(r.stdout).toMatch(/^slabs\s+2 × 16MiB in /m);
    expect(r.stdout).toMatch(/^NAMESPACE\s+BLOCK\s+ENTRIES\s+BYTES\s+QUOTA\s+HIT RATIO\s+CONNECTIONS$/m);
    expect(r.stdout).toMatch(/^default\s+1MiB\s+\d+/m);
    const json = JSON.parse((await cli(['kv', 'stats', '--json', ...sock])).stdout);
    // Without --namespace, STATS goes without HELLO: no namespace is bound (or created).
    expect(json).toMatchObject({ enabled: true, capacityBytes: 32 * MiB, namespace: null });
    const bound = JSON.parse((await cli(['kv', 'stats', '--json', '--namespace', 'default', ...sock])).stdout);
    expect(bound).toMatchObject({ namespace: { name: 'default' } });
  });

  it('finds the socket through BRIXLET_KV_SOCKET when --socket is not given', async () => {
    const r = await cli(['kv', 'stats', '--json'], { BRIXLET_KV_SOCKET: service.socketPath });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).socket).toBe(service.socketPath);
  });

  it('refuses a namespace opened with another block size, naming the status', async () => {
    const r = await cli(['kv', 'stats', '--namespace', 'default', '--block-size', '512KiB', ...sock]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KV shard refused HELLO: LAYOUT_MISMATCH/);
  });

  it('reports an unreachable socket and usage errors with exit 2', async () => {
    const gone = await cli(['kv', 'stats', '--socket', join(root, 'nobody.sock')]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/cannot reach the KV shard at .*nobody\.sock: no socket there \(ENOENT\) \[BRX_ERR_KV_CONNECT\]/);
    for (const [args, message] of [
      [['kv'], /missing subcommand for 'brixlet kv'; valid: stats, put, get, lookup/],
      [['kv', 'drop'], /unknown subcommand 'drop'/],
      [['kv', 'get', ...sock], /give exactly one of --key HEX32 or --text STRING/],
      [['kv', 'get', '--key', 'abc', ...sock], /--key must be 32 hex digits/],
      [['kv', 'lookup', ...sock], /give the key chain/],
      [['kv', 'stats', '--block-size', 'lots', ...sock], /--block-size must be a size/],
      [['kv', 'stats', 'extra', ...sock], /takes no arguments/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('--help teaches with examples', async () => {
    const r = await cli(['kv', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('echo hello | brixlet kv put --text greeting');
    expect(r.stdout).toContain('--block-size');
  });
});

describe('brixlet kv get --remote-budget (a shard whose pool has another holder)', () => {
  let b: KvService;
  // What "agent a" holds, served by an in-memory transport; the directory names a for those keys.
  const held = new Map<string, Buffer>();
  const asked: string[] = [];
  const transport: Transport = {
    mexists: async (_p, _ns, k) => new Uint8Array(k.length / 16),
    async mget(_peer, _ns, k, dests) {
      const n = k.length / 16;
      const status = new Uint8Array(n).fill(PeerItem.MISSING);
      const lengths = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const block = held.get(k.subarray(i * 16, i * 16 + 16).toString('hex'));
        if (block === undefined) continue;
        (dests[i] as Uint8Array).set(block);
        status[i] = PeerItem.FOUND;
        lengths[i] = block.length;
      }
      return { status, lengths };
    },
    close: async () => undefined,
  };
  const directory = {
    async lookup(_ns: string, k: Buffer) {
      asked.push(k.toString('hex'));
      return { holders: ['a'], holderOf: Uint16Array.from({ length: k.length / 16 }, (_, i) => (held.has(k.subarray(i * 16, i * 16 + 16).toString('hex')) ? 0 : NO_HOLDER)) };
    },
  };

  beforeAll(async () => {
    b = await startKvService(shardOptions({ dir: join(root, 'b'), socketPath: join(root, 'b.sock'), slabSize: 16 * MiB, pageSize: MiB }), { log: pino({ level: 'silent' }) });
    // The agent's defaults: a gap under 4 blocks is not worth a trip for an engine's plain LOOKUP_REMOTE.
    b.enableRemoteRead?.({ transport, directory, self: 'b', options: { minBlocks: 4, minShare: 0.1 } });
  });
  afterAll(() => b.close());

  it('fetches the one missing block from its holder (FETCH_ALL) and keeps it; without the flag it stays a miss', async () => {
    const key = chainKeys([Buffer.from('remote greeting')]);
    held.set(key.toString('hex'), Buffer.from('held by agent a\n'));
    const bsock = ['--socket', b.socketPath];
    const plain = await cli(['kv', 'get', '--text', 'remote greeting', ...bsock]);
    expect(plain.code).toBe(1);
    expect(asked).toEqual([]);
    const remote = await cli(['kv', 'get', '--text', 'remote greeting', '--remote-budget', '2000', ...bsock]);
    expect([remote.code, remote.stdout, remote.stderr]).toEqual([0, 'held by agent a\n', '']);
    expect(asked).toEqual([key.toString('hex')]);
    // Sealed in b: a plain get finds it now, and lookup --remote-budget needs no trip.
    held.clear();
    expect((await cli(['kv', 'get', '--text', 'remote greeting', ...bsock])).stdout).toBe('held by agent a\n');
    const json = JSON.parse((await cli(['kv', 'lookup', key.toString('hex'), '--json', '--remote-budget', '0', ...bsock])).stdout);
    expect(json).toMatchObject({ requested: 1, hits: 1, remote: 0 });
    expect(b.summary().leases).toEqual({ read: 0, write: 0 });
  });

  it('lookup --remote-budget fetches a short gap too, and a budget above 1 min is a usage error', async () => {
    const blocks = ['r1', 'r2'].map((t) => Buffer.from(t));
    const keys = chainKeys(blocks);
    const hex = [0, 1].map((i) => keys.subarray(i * 16, i * 16 + 16).toString('hex'));
    hex.forEach((h, i) => held.set(h, blocks[i] as Buffer));
    const json = JSON.parse((await cli(['kv', 'lookup', ...hex, '--json', '--remote-budget', '2000', '--socket', b.socketPath])).stdout);
    expect(json).toMatchObject({ requested: 2, hits: 2, remote: 2 });
    for (const bad of ['60001', '-1', '1.5']) {
      const r = await cli(['kv', 'get', '--text', 'x', '--remote-budget', bad, '--socket', b.socketPath]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/--remote-budget must be a whole number of milliseconds from 0 to 60000/);
    }
  });
});
