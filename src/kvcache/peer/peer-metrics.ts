/**
 * brixlet_kvcache_peer_* metrics, shared by an agent's peer server and client (one family set per
 * registry, like the shard's). A sink with no registry counts nothing.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PeerMetrics {
  bytes(direction: 'sent' | 'received', n: number): void;
  /** Blocks in MGET replies: sent by this agent's peer server, received (FOUND) by its peer client. */
  blocks(direction: 'sent' | 'received', n: number): void;
  /** One MGET of this agent's peer client that brought blocks: seconds from sending it to its last byte. */
  transfer(seconds: number): void;
  request(op: string, status: string): void;
  /** Registers a source of open connections by state ('handshake' | 'ready'); returns the unregister. */
  connections(source: () => { handshake: number; ready: number }): () => void;
}

export const noopPeerMetrics: PeerMetrics = { bytes: () => undefined, blocks: () => undefined, transfer: () => undefined, request: () => undefined, connections: () => () => undefined };

const families = new WeakMap<Registry, PeerMetrics>();

export function createPeerMetrics(registry: Registry): PeerMetrics {
  const known = families.get(registry);
  if (known !== undefined) return known;
  const P = 'brixlet_kvcache_peer_';
  const registers = [registry];
  const sources = new Set<() => { handshake: number; ready: number }>();
  new Gauge({
    name: `${P}connections`,
    help: 'Peer (agent to agent) connections open, server and client side, by state (handshake: not yet authenticated; ready).',
    labelNames: ['state'],
    registers,
    collect() {
      let handshake = 0;
      let ready = 0;
      for (const s of sources) {
        const v = s();
        handshake += v.handshake;
        ready += v.ready;
      }
      this.set({ state: 'handshake' }, handshake);
      this.set({ state: 'ready' }, ready);
    },
  });
  const bytes = new Counter({ name: `${P}bytes_total`, help: 'Block bytes moved between agents, by direction (sent by this agent\'s peer server, received by its peer client).', labelNames: ['direction'], registers });
  const blocks = new Counter({ name: `${P}blocks_total`, help: 'Blocks moved between agents by MGET, by direction (sent by this agent\'s peer server, received by its peer client).', labelNames: ['direction'], registers });
  // Transfer throughput (GB/s) = rate(bytes_total{direction="received"}) / rate(transfer_duration_seconds_sum).
  const transfer = new Histogram({
    name: `${P}transfer_duration_seconds`,
    help: 'Time from sending one MGET to the last byte of its blocks, for MGETs that brought blocks (read side; connecting excluded). Bytes received / the sum of this = transfer GB/s.',
    buckets: [1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1],
    registers,
  });
  const requests = new Counter({ name: `${P}requests_total`, help: 'Peer requests answered by this agent\'s peer server, by op and frame status.', labelNames: ['op', 'status'], registers });
  const m: PeerMetrics = {
    bytes: (direction, n) => bytes.inc({ direction }, n),
    blocks: (direction, n) => blocks.inc({ direction }, n),
    transfer: (seconds) => transfer.observe(seconds),
    request: (op, status) => requests.inc({ op, status }),
    connections: (source) => {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  families.set(registry, m);
  return m;
}
