/**
 * What one pool exchanged with the other agents of the pool, as plain counters for GET /v1/kvcache and
 * STATS (`remote`): its engines' remote reads (blocks fetched and sealed here) and the blocks its peer
 * server sent to other agents' reads. The same events feed brixlet_kvcache_remote_* and _peer_*; these
 * are the totals a person reads without Prometheus.
 */
import type { KvRemoteSummary } from './types.js';

export class RemoteStats {
  private reads = 0;
  private hitBlocks = 0;
  private hitBytes = 0;
  private budgetExpired = 0;
  private servedBlocks = 0;
  private servedBytes = 0;

  /** One remote read that asked the directory: what arrived and was sealed, and whether its budget ran out. */
  read(blocks: number, bytes: number, expired: boolean): void {
    this.reads++;
    this.hitBlocks += blocks;
    this.hitBytes += bytes;
    if (expired) this.budgetExpired++;
  }

  /** One MGET reply of the peer server: the blocks (and their bytes) it sent to another agent. */
  served(blocks: number, bytes: number): void {
    this.servedBlocks += blocks;
    this.servedBytes += bytes;
  }

  snapshot(): KvRemoteSummary {
    const { reads, hitBlocks, hitBytes, budgetExpired, servedBlocks, servedBytes } = this;
    return { reads, hitBlocks, hitBytes, budgetExpired, servedBlocks, servedBytes };
  }
}
