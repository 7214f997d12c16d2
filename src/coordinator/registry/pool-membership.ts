/**
 * The KV pool's membership as the coordinator publishes it (GET /v1/ring): the ready nodes whose
 * agents report a KV peer address, with a version that increases only when that set or an address
 * changes — never on a heartbeat — so agents refetch only on news (the report reply carries the
 * version). A node that goes stale or is deleted leaves; its next report brings it back.
 *
 * The version starts at the coordinator's start time in milliseconds (injectable), so a restarted
 * coordinator publishes a higher version than the one before it and every agent refetches — with
 * the new pair keys when the peer secret was made at random.
 *
 * Pair keys: each pair of members shares one key, derived (pair-keys.ts) from the peer secret; a
 * caller gets only the keys of the node its credentials stand for.
 */
import { RING_SLOTS, RING_VNODES, type RingMember, type RingView } from '../../common/pool-ring.js';
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { derivePairKey } from './pair-keys.js';
import type { NodeEvent, NodeView, Registry } from './registry.js';

export interface PoolMembershipOptions {
  /** 32 bytes: the root of every pair key (pair-keys.ts). */
  readonly peerSecret: Buffer;
  /** The first version (default: now in ms, so a restart publishes a higher one). */
  readonly initialVersion?: number;
  readonly log?: Logger;
}

export interface PoolMembership extends Disposable {
  readonly version: number;
  /** The published ring, without keys. */
  view(): RingView;
  /** The base64url keys `node` shares with every other member, by member name. */
  pairKeysOf(node: string): Record<string, string>;
  /** Recomputes from the registry now (tests; the registry's events do it otherwise). */
  refresh(): void;
}

export function createPoolMembership(registry: Registry, opts: PoolMembershipOptions): PoolMembership {
  let version = opts.initialVersion ?? Date.now();
  let members: RingMember[] = [];
  /** node → peer address of the current members. */
  let byNode = new Map<string, string>();
  // Pair keys are HMACs: cached per pair so a fetch by each of N agents costs N·(N−1) HMACs once per version, not per fetch.
  const keyCache = new Map<string, string>();

  const addressOf = (n: NodeView): string | undefined => (n.state === 'ready' && n.kv?.peerAddress !== undefined && n.kv.peerAddress !== '' ? n.kv.peerAddress : undefined);

  function publish(next: Map<string, string>): void {
    byNode = next;
    members = [...next].map(([node, peerAddress]) => ({ node, peerAddress })).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    version += 1;
    keyCache.clear();
    opts.log?.info({ ringVersion: version, members: members.length }, 'KV pool membership changed');
  }

  /** Recomputes from every node: at start (and in tests). */
  function refresh(): void {
    const next = new Map<string, string>();
    for (const n of registry.listNodes()) {
      const address = addressOf(n);
      if (address !== undefined) next.set(n.name, address);
    }
    if (next.size !== byNode.size || [...next].some(([node, address]) => byNode.get(node) !== address)) publish(next);
  }

  // Per event, only the node that changed is looked at: reports arrive every heartbeat from every
  // node, and most change nothing here.
  function onNode(e: NodeEvent): void {
    const address = e.kind === 'removed' ? undefined : addressOf(e.node);
    if (byNode.get(e.node.name) === address) return;
    const next = new Map(byNode);
    if (address === undefined) next.delete(e.node.name);
    else next.set(e.node.name, address);
    publish(next);
  }

  const off = registry.onChange(onNode);
  refresh();
  return {
    name: 'pool membership',
    get version() {
      return version;
    },
    view: () => ({ version, slots: RING_SLOTS, vnodes: RING_VNODES, members }),
    pairKeysOf(node) {
      const out: Record<string, string> = {};
      for (const m of members) {
        if (m.node === node) continue;
        const id = node < m.node ? `${node}\n${m.node}` : `${m.node}\n${node}`;
        let key = keyCache.get(id);
        if (key === undefined) {
          key = derivePairKey(opts.peerSecret, node, m.node).toString('base64url');
          keyCache.set(id, key);
        }
        out[m.node] = key;
      }
      return out;
    },
    refresh,
    dispose() {
      off();
    },
  };
}
