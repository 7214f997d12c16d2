// Admission at accept (SO_PEERCRED, injected here so that one test process can be many uids) and
// the per-uid caps: connections per uid, namespaces per uid. The server runs on an in-memory shard.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionProblem } from '../../src/kvcache/admission.js';
import type { PeerCred } from '../../src/kvcache/peer-cred.js';
import { Op, Status, decodeJson, encodeHello } from '../../src/kvcache/protocol.js';
import type { LeaseServerOptions } from '../../src/kvcache/server.js';
import { startLeaseServer } from './lease-server-fixture.js';
import { KvShard } from '../../src/kvcache/shard.js';
import type { KvShardOptions } from '../../src/kvcache/types.js';
import { MiB, shardOptions, statusOf } from './shard-fixture.js';
import { Wire } from './wire.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const AGENT = 500;
const peer = (uid: number, gid = uid, groups: number[] = [], pid = 1000 + uid): PeerCred => ({ uid, gid, pid, groups });

/** A server whose peers are `queue` in accept order. */
function start(queue: PeerCred[], over: Partial<LeaseServerOptions> = {}, shardOver: Partial<KvShardOptions> = {}) {
  return startLeaseServer(
    cleanup,
    { access: { agentUid: AGENT, allowUids: [1001], allowGids: [3000] }, peerCred: (_s: Socket) => queue.shift(), ...over },
    { maxNamespaces: 8, ...shardOver },
  );
}

async function open(path: string): Promise<Wire> {
  const w = await Wire.open(path);
  cleanup.push(() => w.close());
  return w;
}

/** The unsolicited frame a refused connection gets, and that it is closed after it. */
async function refusedWith(w: Wire): Promise<number> {
  const r = await w.next();
  expect(r?.header.requestId).toBe(0);
  await w.ended;
  return r?.header.status as number;
}

describe('admission by peer credentials', () => {
  it('admits root, the agent uid, allowed uids and members of allowed gids (primary or supplementary)', () => {
    const access = { agentUid: AGENT, allowUids: [1001], allowGids: [3000] };
    expect(admissionProblem(peer(0, 99), access)).toBeUndefined();
    expect(admissionProblem(peer(AGENT, 99), access)).toBeUndefined();
    expect(admissionProblem(peer(1001, 99), access)).toBeUndefined();
    expect(admissionProblem(peer(1002, 3000), access)).toBeUndefined();
    expect(admissionProblem(peer(1003, 99, [7, 3000]), access)).toBeUndefined();
    expect(admissionProblem(peer(1004, 99, [7]), access)).toMatch(/uid 1004 \(gid 99, groups 7\) is not in the pool's allowed/);
  });

  it('refuses a peer outside the lists with one NOT_ALLOWED frame, closes it, counts it; others are served', async () => {
    const { path, closed, server } = await start([peer(1004, 99), peer(1002, 3000)]);
    expect(await refusedWith(await open(path))).toBe(Status.NOT_ALLOWED);
    expect(await closed('not_allowed')).toBe(1);
    const ok = await open(path);
    expect((await ok.call(Op.PING)).header.status).toBe(0);
    expect(server.connections).toBe(1);
  });

  it('refuses a peer whose credentials cannot be read', async () => {
    const { path } = await start([]);
    expect(await refusedWith(await open(path))).toBe(Status.NOT_ALLOWED);
  });

  it('shows the asking connection\'s uid, gid and pid in STATS', async () => {
    const { path } = await start([peer(1001, 1001, [], 4321)]);
    const w = await open(path);
    const stats = decodeJson((await w.call(Op.STATS)).body) as { peer: unknown };
    expect(stats.peer).toEqual({ uid: 1001, gid: 1001, pid: 4321 });
  });
});

describe('--kv.max-connections-per-uid', () => {
  it('refuses a uid\'s connection beyond the cap with TOO_MANY_CONNECTIONS; other uids connect; a closed one frees a slot', async () => {
    const { path, closed } = await start([peer(1001), peer(1001), peer(1001), peer(0), peer(1001)], { maxConnectionsPerUid: 2 });
    const a = await open(path);
    expect((await a.call(Op.PING)).header.status).toBe(0);
    const b = await open(path);
    expect((await b.call(Op.PING)).header.status).toBe(0);
    expect(await refusedWith(await open(path))).toBe(Status.TOO_MANY_CONNECTIONS);
    expect(await closed('too_many_connections')).toBe(1);
    const other = await open(path);
    expect((await other.call(Op.PING)).header.status).toBe(0);
    a.close();
    await a.ended;
    // The server sees the close on its next turn of the loop.
    await new Promise((r) => setTimeout(r, 50));
    const again = await open(path);
    expect((await again.call(Op.PING)).header.status).toBe(0);
  });
});

describe('--kv.max-namespaces-per-uid', () => {
  const hello = (w: Wire, ns: string) => w.call(Op.HELLO, encodeHello({ namespace: ns, layout: '', blockSize: MiB }));

  it('a uid cannot create more namespaces than its share; another uid still can; joining an existing one is not limited', async () => {
    const { path } = await start([peer(1001), peer(1001), peer(1001), peer(1002, 3000), peer(1001)], {}, { maxNamespacesPerUid: 2 });
    for (const ns of ['a1', 'a2']) expect((await hello(await open(path), ns)).header.status).toBe(0);
    expect((await hello(await open(path), 'a3')).header.status).toBe(Status.TOO_MANY_NAMESPACES);
    expect((await hello(await open(path), 'b1')).header.status).toBe(0);
    expect((await hello(await open(path), 'b1')).header.status).toBe(0);
  });

  it('counts only namespaces that hold blocks or connections (empty idle ones are reclaimable)', () => {
    const shard = new KvShard(shardOptions({ maxNamespaces: 8, maxNamespacesPerUid: 1 }));
    const a = shard.hello('a', '', MiB, 1001);
    expect(statusOf(() => shard.hello('b', '', MiB, 1001))).toBe(Status.TOO_MANY_NAMESPACES);
    shard.goodbye(a);
    expect(statusOf(() => shard.hello('b', '', MiB, 1001))).toBeUndefined();
  });
});
