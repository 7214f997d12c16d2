import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvNamespaceView, KvSummaryView } from '../../src/agent/kv-schemas.js';
import { chainKeys } from '../../src/kvcache/client/chain-keys.js';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService, KvSummary } from '../../src/kvcache/types.js';
import { silentLog } from '../helpers/apps.js';
import { shardOptions } from '../kvcache/shard-fixture.js';

let root: string;
let service: KvService;
let summary: KvSummary;

/** A real summary: a shard with a quota'd namespace, a block written and looked up. */
beforeAll(async () => {
  root = mkdtempSync('/dev/shm/brixlet-kv-schema-test-');
  service = await startKvService(
    shardOptions({ dir: join(root, 'slabs'), socketPath: join(root, 'kv.sock'), policy: 's3fifo', quotas: new Map([['q', 4 * 2 ** 20]]) }),
    { log: silentLog },
  );
  const c = await KvClient.connect({ socketPath: service.socketPath, namespace: 'q', blockSize: 8192, layout: 'ncld16' });
  const block = Buffer.alloc(100, 1);
  await c.put(chainKeys([block]), [block]);
  await c.get(chainKeys([block, block]));
  summary = service.summary();
  await c.close();
});
afterAll(async () => {
  await service.close();
  rmSync(root, { recursive: true, force: true });
});

/** What the route sends after fastify's serializer drops properties the schema does not declare. */
const serialized = <T>(schema: Parameters<typeof Value.Clean>[0], value: T) => Value.Clean(schema, structuredClone(value));

describe('GET /v1/kvcache schema', () => {
  it('accepts a real summary and loses none of its fields', () => {
    expect(Value.Errors(KvSummaryView, summary).First()).toBeUndefined();
    expect(serialized(KvSummaryView, summary)).toEqual(summary);
    expect(summary.namespaces[0]).toMatchObject({ name: 'q', layout: 'ncld16', quotaBytes: 4 * 2 ** 20, hitRatio: 0.5 });
  });

  it('rejects what the shard never reports', () => {
    expect(Value.Check(KvSummaryView, { ...summary, policy: 'random' })).toBe(false);
    expect(Value.Check(KvSummaryView, { ...summary, hitRatio: 1.5 })).toBe(false);
    expect(Value.Check(KvNamespaceView, { ...summary.namespaces[0], entries: -1 })).toBe(false);
    expect(Value.Check(KvNamespaceView, { ...summary.namespaces[0], hitRatio: null, quotaBytes: null })).toBe(true);
  });
});
