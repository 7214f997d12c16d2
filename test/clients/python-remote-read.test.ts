// The Python client's one-call remote read against a live shard (node "b") whose LOOKUP_REMOTE
// fetches from a real peer server (node "a") named by an in-memory directory.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { PeerClient } from '../../src/kvcache/peer/peer-client.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';
import { KiB, type PeerRig, blockBytes, putChain, silent, startPeerRig } from '../kvcache/peer/peer-fixture.js';
import { MiB, keys, shardOptions } from '../kvcache/shard-fixture.js';

const BLOCK = 256 * KiB;
const LEN = 200 * KiB;
let rig: PeerRig;
let root: string;
let b: KvService;
let transport: PeerClient;

beforeAll(async () => {
  rig = await startPeerRig();
  root = mkdtempSync('/dev/shm/brixlet-py-remote-');
  b = await startKvService(shardOptions({ dir: join(root, 'b'), socketPath: join(root, 'b.sock'), slabSize: 16 * MiB }), { log: silent });
  transport = new PeerClient({ self: 'b', pool: 'default', membership: rig.bMembership });
  const directory = { lookup: async (_ns: string, k: Buffer) => ({ holders: ['a'], holderOf: new Uint16Array(k.length / 16) }) };
  b.enableRemoteRead?.({ transport, directory, self: 'b', options: { maxBudgetMs: 60_000 } });
  await putChain(rig.services.get('default') as KvService, 'ns', 1, 8, LEN, BLOCK);
  // Chain 2: a holds 3 blocks, b the first 2 (a one-block gap, below --kv.remote-min-blocks).
  await putChain(rig.services.get('default') as KvService, 'ns', 2, 3, LEN, BLOCK);
  const local = await KvClient.connect({ socketPath: b.socketPath, namespace: 'ns', blockSize: BLOCK });
  await local.put(keys(2, 2), [blockBytes(2, 0, LEN), blockBytes(2, 1, LEN)]);
  await local.close();
});

afterAll(async () => {
  await transport.close();
  await b.close();
  await rig.close();
  rmSync(root, { recursive: true, force: true });
});

// Keys as test/kvcache/shard-fixture.ts keys(1, 8) makes them: u32 tag, u32 index, 8 zero bytes.
const SCRIPT = `
import hashlib, json, struct, sys
from brixlet_kv.client import KvClient
keys = [struct.pack('<II8x', 1, i) for i in range(8)]
c = KvClient(sys.argv[1], 'ns', ${BLOCK})
first = c.lookup(keys, remote_budget_ms=30000)
c.release([l.lease_id for l in first.leases])
blocks = c.get(keys, remote_budget_ms=30000)
bufs = [bytearray(${LEN}) for _ in keys]
into = c.get_into(keys, bufs, remote_budget_ms=30000)
again = c.lookup(keys, remote_budget_ms=30000)
c.release([l.lease_id for l in again.leases])
print(json.dumps({'remote_read': c.remote_read, 'hits': first.hits, 'remote': first.remote_hits, 'again': [again.hits, again.remote_hits], 'into': into, 'sha': [hashlib.sha256(b).hexdigest() for b in blocks], 'into_sha': [hashlib.sha256(b).hexdigest() for b in bufs]}))
c.close()
`;

function runPython(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: 'clients/python' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('clients/python LOOKUP_REMOTE', () => {
  it('one call gets leases for the chain fetched from another agent, bytes intact; the next call is local', { timeout: 60_000 }, async () => {
    const { code, output } = await runPython(['-c', SCRIPT, b.socketPath]);
    if (code !== 0) expect.fail(`python3 exited ${code}:\n${output}`);
    const r = JSON.parse(output.trim().split('\n').pop() as string) as { remote_read: boolean; hits: number; remote: number; again: number[]; into: number; sha: string[]; into_sha: string[] };
    expect(r).toMatchObject({ remote_read: true, hits: 8, remote: 8, again: [8, 0], into: 8 });
    const want = Array.from({ length: 8 }, (_, i) => createHash('sha256').update(blockBytes(1, i, LEN)).digest('hex'));
    expect(r.sha).toEqual(want);
    expect(r.into_sha).toEqual(want);
    expect(b.summary().leases).toEqual({ read: 0, write: 0 });
  });

  it('fetch_all=True fetches a one-block gap the agent\'s thresholds skip', { timeout: 60_000 }, async () => {
    const script = `
import hashlib, json, struct, sys
from brixlet_kv.client import KvClient
keys = [struct.pack('<II8x', 2, i) for i in range(3)]
c = KvClient(sys.argv[1], 'ns', ${BLOCK})
plain = c.lookup(keys, remote_budget_ms=30000)
c.release([l.lease_id for l in plain.leases])
blocks = c.get(keys, remote_budget_ms=30000, fetch_all=True)
print(json.dumps({'plain': [plain.hits, plain.remote_hits], 'got': len(blocks), 'sha': hashlib.sha256(blocks[-1]).hexdigest()}))
c.close()
`;
    const { code, output } = await runPython(['-c', script, b.socketPath]);
    if (code !== 0) expect.fail(`python3 exited ${code}:\n${output}`);
    const r = JSON.parse(output.trim().split('\n').pop() as string) as { plain: number[]; got: number; sha: string };
    expect(r).toEqual({ plain: [2, 0], got: 3, sha: createHash('sha256').update(blockBytes(2, 2, LEN)).digest('hex') });
  });
});
