// brixlet_kvcache_peer_*: blocks and bytes each side of an MGET counts, and the reader's transfer
// time (bytes received / its sum = transfer GB/s), against a real peer server over real shards.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerClient } from '../../../src/kvcache/peer/peer-client.js';
import { createPeerMetrics } from '../../../src/kvcache/peer/peer-metrics.js';
import { PeerServer, type PeerPool } from '../../../src/kvcache/peer/peer-server.js';
import type { KvService } from '../../../src/kvcache/types.js';
import { keys } from '../shard-fixture.js';
import { KiB, type PeerRig, putChain, silent, startPeerRig, staticMembership } from './peer-fixture.js';

const LEN = 100 * KiB;
let rig: PeerRig;
let server: PeerServer;
let client: PeerClient;
const served = new Registry();
const read = new Registry();

beforeAll(async () => {
  rig = await startPeerRig();
  const pool = rig.services.get('default') as KvService;
  await putChain(pool, 'ns', 1, 4, LEN);
  // A second listener of node "a" over the same pool, counting into its own registry.
  server = new PeerServer({ host: '127.0.0.1', port: 0, membership: rig.aMembership, pools: new Map([['default', pool.blocks as PeerPool]]) }, silent, createPeerMetrics(served));
  await server.listen();
  const membership = staticMembership('b', [{ node: 'a', peerAddress: `127.0.0.1:${server.address().port}` }], { a: rig.key });
  client = new PeerClient({ self: 'b', pool: 'default', membership, metrics: createPeerMetrics(read) });
});

afterAll(async () => {
  await client.close();
  await server.close();
  await rig.close();
});

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const hit = (m?.values ?? []).find((v) => {
    const sample = (v as { metricName?: string }).metricName;
    if (sample !== undefined && sample !== name && sample !== `${name}_count`) return false;
    return Object.entries(labels).every(([k, want]) => v.labels[k] === want);
  });
  return hit?.value ?? 0;
}

describe('peer metrics', () => {
  it('count the blocks and bytes of an MGET on both sides, and time the read of one that brought blocks', async () => {
    const dests = Array.from({ length: 6 }, () => new Uint8Array(256 * KiB));
    // Blocks 0–3 are held; 4 and 5 are not.
    const r = await client.mget('a', 'ns', keys(1, 6), dests);
    expect([...r.lengths]).toEqual([LEN, LEN, LEN, LEN, 0, 0]);
    expect(await value(read, 'brixlet_kvcache_peer_blocks_total', { direction: 'received' })).toBe(4);
    expect(await value(read, 'brixlet_kvcache_peer_bytes_total', { direction: 'received' })).toBe(4 * LEN);
    expect(await value(read, 'brixlet_kvcache_peer_transfer_duration_seconds')).toBe(1);
    expect(await value(served, 'brixlet_kvcache_peer_blocks_total', { direction: 'sent' })).toBe(4);
    expect(await value(served, 'brixlet_kvcache_peer_bytes_total', { direction: 'sent' })).toBe(4 * LEN);
    // The holder's /v1/kvcache counts what it served.
    expect((rig.services.get('default') as KvService).summary().remote).toMatchObject({ servedBlocks: 4, servedBytes: 4 * LEN });
    // An MGET that finds nothing moves no block and is not a transfer.
    await client.mget('a', 'ns', keys(2, 2), dests.slice(0, 2));
    expect(await value(read, 'brixlet_kvcache_peer_transfer_duration_seconds')).toBe(1);
    expect(await value(read, 'brixlet_kvcache_peer_blocks_total', { direction: 'received' })).toBe(4);
  });
});
