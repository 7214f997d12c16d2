// Two pools' shards (real slab files under /dev/shm), blocks put through the engine socket, and a
// peer server of node "a" serving them to node "b" with one pair key.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { KvClient } from '../../../src/kvcache/client/kv-client.js';
import { DirectoryStore } from '../../../src/kvcache/directory/directory-store.js';
import type { Membership, MembershipSource, PoolMember } from '../../../src/kvcache/membership.js';
import { PeerServer, type PeerPool, type PeerServerOptions } from '../../../src/kvcache/peer/peer-server.js';
import { startKvService } from '../../../src/kvcache/service.js';
import type { KvService } from '../../../src/kvcache/types.js';
import { MiB, keys, shardOptions } from '../shard-fixture.js';

export const KiB = 1024;
export const silent = pino({ level: 'silent' });

export function staticMembership(self: string, members: PoolMember[], keys: Record<string, Buffer>): MembershipSource & { set(m: Partial<Membership>): void } {
  let m: Membership = { version: 1, self, members, pairKeys: new Map(Object.entries(keys)) };
  const listeners = new Set<(m: Membership) => void>();
  return {
    current: () => m,
    onChange: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set: (over) => {
      m = { ...m, ...over, version: m.version + 1 };
      for (const l of listeners) l(m);
    },
  };
}

export interface PeerRig {
  readonly root: string;
  readonly services: Map<string, KvService>;
  readonly server: PeerServer;
  readonly port: number;
  readonly key: Buffer;
  /** Membership of the reading node "b" (pair key with "a", a's address). */
  readonly bMembership: MembershipSource & { set(m: Partial<Membership>): void };
  /** Membership of the serving node "a" (pair key with "b"). */
  readonly aMembership: MembershipSource & { set(m: Partial<Membership>): void };
  /** Bytes of block i of chain `tag` put into the default pool's namespace "ns". */
  block(tag: number, i: number, len: number): Buffer;
  close(): Promise<void>;
}

export function blockBytes(tag: number, i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let j = 0; j < len; j += 4) b.writeUInt32LE((tag * 7919 + i * 104729 + j) >>> 0, j);
  return b;
}

/** Puts chain `tag` (n blocks of len bytes) into `namespace` of a service through its socket. */
export async function putChain(service: KvService, namespace: string, tag: number, n: number, len: number, blockSize = 256 * KiB): Promise<Buffer> {
  const c = await KvClient.connect({ socketPath: service.socketPath, namespace, blockSize });
  const k = keys(tag, n);
  await c.put(k, Array.from({ length: n }, (_, i) => blockBytes(tag, i, len)));
  await c.close();
  return k;
}

/** `directory`: each pool gets a directory store (PUBLISH and DIRECTORY_LOOKUP served; UNSUPPORTED without). */
export async function startPeerRig(over: Partial<PeerServerOptions> = {}, rigOpts: { directory?: boolean } = {}): Promise<PeerRig> {
  const root = mkdtempSync('/dev/shm/brixlet-peer-');
  const services = new Map<string, KvService>();
  for (const pool of ['default', 'other']) {
    services.set(pool, await startKvService(shardOptions({ pool, dir: join(root, pool), socketPath: join(root, `${pool}.sock`), slabSize: 16 * MiB, pageSize: 1 * MiB }), { log: silent }));
  }
  const key = randomBytes(32);
  const pools = new Map<string, PeerPool>();
  for (const [name, s] of services) pools.set(name, rigOpts.directory === true ? { ...(s.blocks as PeerPool), directory: new DirectoryStore({ ttlMs: 60_000, maxEntries: 1024 }) } : (s.blocks as PeerPool));
  const aMembership = staticMembership('a', [], { b: key });
  const server = new PeerServer({ host: '127.0.0.1', port: 0, membership: aMembership, pools, ...over }, silent);
  await server.listen();
  const port = server.address().port;
  const bMembership = staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${port}` }, { node: 'b', peerAddress: '127.0.0.1:1' }], { a: key });
  return {
    root,
    services,
    server,
    port,
    key,
    bMembership,
    aMembership,
    block: blockBytes,
    async close() {
      await server.close();
      for (const s of services.values()) await s.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
