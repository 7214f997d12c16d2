/** Builds the eviction policy named by `--kv.policy` with the shipped defaults. */
import { ArcPolicy } from './arc.js';
import { FifoPolicy } from './fifo.js';
import { LruPolicy } from './lru.js';
import { S3FifoPolicy } from './s3fifo.js';
import type { EvictionPolicy, EvictionPolicyOptions, PolicyName } from './types.js';

export function createPolicy(name: PolicyName, opts: EvictionPolicyOptions): EvictionPolicy {
  switch (name) {
    case 'arc':
      return new ArcPolicy(opts);
    case 'lru':
      return new LruPolicy(opts);
    case 'fifo':
      return new FifoPolicy(opts);
    case 's3fifo':
      return new S3FifoPolicy(opts);
  }
}
