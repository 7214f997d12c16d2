/**
 * The peer server's directory ops (docs/kv-protocol.md part 2): PUBLISH applies a peer's deltas to
 * the pool's directory store with the authenticated peer as the holder; DIRECTORY_LOOKUP answers the
 * holders per key of a chain, never the asker itself. A connection reaches only the store of the pool
 * it presented, so pools stay isolated. Pure over its inputs: the server writes the reply.
 */
import type { DirectoryStore } from '../directory/directory-store.js';
import {
  DeltaStatus,
  NO_HOLDER_INDEX,
  type PeerHeader,
  PeerOp,
  PeerProtocolError,
  PeerStatus,
  decodeDirectoryLookup,
  decodePublish,
  encodeDirectoryAnswer,
  peerOpName,
} from './peer-protocol.js';

export interface DirectoryRequest {
  /** The pool's store; undefined = the agent runs this pool without a directory (UNSUPPORTED). */
  readonly store: DirectoryStore | undefined;
  readonly pool: string;
  /** The authenticated peer. */
  readonly node: string;
  readonly maxBatch: number;
  readonly now: number;
}

/** The reply body of a PUBLISH or DIRECTORY_LOOKUP request; throws a PeerProtocolError for a bad one. */
export function directoryReply(r: DirectoryRequest, h: PeerHeader, body: Buffer): Buffer {
  const store = r.store;
  if (store === undefined) throw new PeerProtocolError(PeerStatus.UNSUPPORTED, `${peerOpName(h.op)}: pool ${r.pool} has no directory on this agent`);
  if (h.op === PeerOp.PUBLISH) {
    const req = decodePublish(body, h.count, r.maxBatch);
    const status = Buffer.alloc(h.count, DeltaStatus.DROPPED);
    if (req.namespace !== undefined && h.count > 0) store.publish(req.namespace, r.node, req.items, r.now, status);
    return status;
  }
  const req = decodeDirectoryLookup(body, h.count, r.maxBatch);
  const a = req.namespace === undefined ? { holders: [], holderOf: new Uint16Array(h.count).fill(NO_HOLDER_INDEX) } : store.lookup(req.namespace, req.keys, r.now, r.node);
  return encodeDirectoryAnswer(a.holders, a.holderOf);
}
