/**
 * How the pool reads blocks held by another agent. The TCP peer client is one implementation; an
 * RDMA one can take its place without the callers changing: peers are named by node name, keys are
 * 16-byte keys of one namespace, and block bytes land in views the caller owns.
 */

export interface TransportCallOptions {
  /** Stop at the first missing key (a chain's longest prefix). */
  readonly prefix?: boolean;
  /** Overrides the transport's per-call deadline (ms). */
  readonly deadlineMs?: number;
}

export interface MgetResult {
  /** Per key: PeerItem FOUND, MISSING or TOO_LONG (longer than its destination view). */
  readonly status: Uint8Array;
  /** Per key: bytes written to its destination view (0 unless FOUND). */
  readonly lengths: Uint32Array;
}

export interface Transport {
  /** Per key: PeerItem FOUND or MISSING. */
  mexists(peer: string, namespace: string, keys: Buffer, opts?: TransportCallOptions): Promise<Uint8Array>;
  /**
   * Copies each found block into `dests[i]` (one view per key, at least the block's length). On a
   * rejection the views may hold partial bytes; the transport never writes into them afterwards.
   */
  mget(peer: string, namespace: string, keys: Buffer, dests: readonly Uint8Array[], opts?: TransportCallOptions): Promise<MgetResult>;
  close(): Promise<void>;
}
