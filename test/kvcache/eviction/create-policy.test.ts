import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/kvcache/eviction/arc.js';
import { createPolicy } from '../../../src/kvcache/eviction/create-policy.js';
import { FifoPolicy } from '../../../src/kvcache/eviction/fifo.js';
import { LruPolicy } from '../../../src/kvcache/eviction/lru.js';
import { S3FifoPolicy } from '../../../src/kvcache/eviction/s3fifo.js';
import type { PolicyName } from '../../../src/kvcache/eviction/types.js';

describe('createPolicy', () => {
  it('builds each named policy with the options given', () => {
    expect(createPolicy('lru', { capacity: 4 })).toBeInstanceOf(LruPolicy);
    expect(createPolicy('fifo', { capacity: 4 })).toBeInstanceOf(FifoPolicy);
    const s3 = createPolicy('s3fifo', { capacity: 4, smallRatio: 0.1 });
    expect(s3).toBeInstanceOf(S3FifoPolicy);
    expect((s3 as S3FifoPolicy).smallRatio).toBe(0.1);
    expect(createPolicy('arc' as PolicyName, { capacity: 4 })).toBeInstanceOf(ArcPolicy);
  });

  it('reports a bad capacity as BRX_ERR_KV_CONFIG', () => {
    expect(() => createPolicy('s3fifo', { capacity: 0 })).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONFIG' }));
  });
});
