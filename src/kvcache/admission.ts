/**
 * Who may use a pool, decided from the peer's SO_PEERCRED at accept: root, the agent's own uid, a
 * uid in the pool's allow list, or a peer whose primary or supplementary gid is in its gid list (by
 * default the pool's owning group). The socket's 0660 mode already keeps out everyone outside the
 * group; this narrows it further, and still holds for a peer that connected through an inherited
 * descriptor or in the instant between bind and chmod.
 */
import type { PeerCred } from './peer-cred.js';

export interface PoolAccess {
  readonly agentUid: number;
  readonly allowUids: readonly number[];
  readonly allowGids: readonly number[];
}

/** Why `peer` is refused; undefined when admitted. Pure. */
export function admissionProblem(peer: PeerCred, access: PoolAccess): string | undefined {
  if (peer.uid === 0 || peer.uid === access.agentUid || access.allowUids.includes(peer.uid)) return undefined;
  if (access.allowGids.includes(peer.gid)) return undefined;
  for (const g of peer.groups) if (access.allowGids.includes(g)) return undefined;
  return `uid ${peer.uid} (gid ${peer.gid}${peer.groups.length > 0 ? `, groups ${peer.groups.join(',')}` : ''}) is not in the pool's allowed uids or gids`;
}
