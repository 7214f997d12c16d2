/**
 * The contract between the agent's membership follower (which fetches the coordinator's published
 * ring) and the parts of the KV pool that use it (the peer transport, the directory). The
 * coordinator publishes who is in the pool with a version; each agent gets, with it, one key per
 * other member, shared by exactly that pair of agents, for the peer handshake.
 */

/** One agent in the pool, as the coordinator publishes it. */
export interface PoolMember {
  /** The node name (what the agent reports as; unique in the cluster). */
  readonly node: string;
  /** host:port of its peer listener (--kv.peer-port). */
  readonly peerAddress: string;
}

/** What an agent knows of the pool at one version. */
export interface Membership {
  /** Increases whenever the member set (or an address) changes; 0 = no coordinator yet. */
  readonly version: number;
  /** This agent's own node name. */
  readonly self: string;
  /** The live members, this agent included, sorted by node name. */
  readonly members: readonly PoolMember[];
  /**
   * The key this agent shares with each other member (by node name), 32 bytes. Both ends of a peer
   * connection prove they hold it (challenge–response); it never crosses the wire.
   */
  readonly pairKeys: ReadonlyMap<string, Buffer>;
}

/** The membership before any coordinator answered: this agent alone, no peers. */
export function soloMembership(self: string): Membership {
  return { version: 0, self, members: [], pairKeys: new Map() };
}

/** Where the current membership is read from (the follower updates it; readers never cache it). */
export interface MembershipSource {
  current(): Membership;
  /** Called after every change of version; returns the unsubscribe. */
  onChange(listener: (m: Membership) => void): () => void;
}
