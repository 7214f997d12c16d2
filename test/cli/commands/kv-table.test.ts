import { describe, expect, it } from 'vitest';
import { humanBytes, renderLookup, renderStats } from '../../../src/cli/commands/kv-table.js';
import { createStyle } from '../../../src/cli/style.js';
import type { KvStats } from '../../../src/kvcache/client/kv-client.js';

const MiB = 2 ** 20;
const plain = createStyle({ isTTY: false }, {});

const ns = { name: 'llama/bf16', blockSize: 2 * MiB, layout: '', entries: 3, bytes: 6 * MiB, quotaBytes: 8 * MiB, connections: 2, lookups: 4, hitBlocks: 3, requestedBlocks: 4, hitRatio: 0.75 };
const stats: KvStats = {
  enabled: true,
  pool: 'default',
  socket: '/run/brixlet/kv.sock',
  dir: '/dev/shm/brixlet',
  generation: '0a1b2c3d',
  slabs: { count: 2, size: 1024 * MiB, files: ['/dev/shm/brixlet/slab-0a1b2c3d-0000', '/dev/shm/brixlet/slab-0a1b2c3d-0001'] },
  pageSize: 4 * MiB,
  capacityBytes: 2048 * MiB,
  usedBytes: 6 * MiB,
  bytesByState: { free: 2042 * MiB, writing: 0, sealed: 6 * MiB },
  entries: 3,
  maxEntries: 32768,
  policy: 's3fifo',
  evictions: { small: 5, main: 1 },
  ghostHits: 2,
  leases: { read: 1, write: 0 },
  connections: 2,
  lookups: 4,
  hitBlocks: 3,
  requestedBlocks: 4,
  hitRatio: 0.75,
  namespaces: [ns, { ...ns, name: 'cold', quotaBytes: null, hitRatio: null, entries: 0, bytes: 0 }],
  namespace: ns,
  remote: { reads: 2, hitBlocks: 5, hitBytes: 10 * MiB, budgetExpired: 1, servedBlocks: 3, servedBytes: 6 * MiB },
};

describe('kv tables', () => {
  it('renders the shard summary with a namespace table', () => {
    expect(renderStats(stats, plain)).toBe(
      [
        'socket     /run/brixlet/kv.sock',
        'slabs      2 × 1GiB in /dev/shm/brixlet (generation 0a1b2c3d)',
        'capacity   2GiB; pages of 4MiB',
        'used       6MiB (sealed 6MiB, writing 0B, free 2GiB)',
        'entries    3 of at most 32768',
        'policy     s3fifo; evictions small=5 main=1; ghost hits 2',
        'leases     1 read, 0 write; 2 connection(s)',
        'hit ratio  75.0% (3 of 4 blocks in 4 lookups)',
        'pool       5 block(s) (10MiB) fetched from other agents in 2 remote read(s), 1 past budget; 3 (6MiB) served to them',
        '',
        'NAMESPACE   BLOCK  ENTRIES  BYTES  QUOTA  HIT RATIO  CONNECTIONS',
        'llama/bf16  2MiB   3        6MiB   8MiB   75.0%      2',
        'cold        2MiB   0        0B     -      -          2',
        '',
      ].join('\n'),
    );
    // A shard that predates `remote` (STATS of an older agent): no pool line.
    expect(renderStats({ ...stats, namespaces: [], evictions: {}, remote: undefined }, plain)).toMatch(/evictions none; ghost hits 2\nleases .*\nhit ratio .*\n$/);
  });

  it('renders lookup leases, or only the count on a miss', () => {
    expect(renderLookup(2, 0, [], plain)).toBe('0 of 2 block(s) cached\n');
    const out = renderLookup(2, 1, [{ key: 'ab'.repeat(16), leaseId: 7, slab: 1, path: '/dev/shm/brixlet/slab-0a1b2c3d-0001', offset: 4096, length: 100 }], plain);
    expect(out.split('\n')[2]).toMatch(/^(ab){16}\s+7\s+\/dev\/shm\/brixlet\/slab-0a1b2c3d-0001\s+4096\s+100$/);
  });

  it('humanBytes keeps one decimal', () => {
    expect([humanBytes(0), humanBytes(512), humanBytes(1536), humanBytes(16 * MiB), humanBytes(3.25 * 2 ** 30)]).toEqual(['0B', '512B', '1.5KiB', '16MiB', '3.3GiB']);
  });
});
