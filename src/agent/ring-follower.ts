/**
 * The agent's view of the KV pool's membership (MembershipSource, src/kvcache/membership.ts). It
 * starts alone (soloMembership: version 0, no peers) and stays so without a coordinator, serving
 * its local shard. With one, every report reply carries the coordinator's ringVersion; when it
 * differs from the one held, GET /v1/ring?node=<self> with the agent's report credentials brings
 * the members and this node's pair keys. The reply is checked (schema, ring parameters this build
 * uses, 32-byte keys, bounded size) before it replaces the current membership; a failed fetch keeps
 * the old one and is retried on the next reply that still differs (every heartbeat at most).
 */
import { Value } from '@sinclair/typebox/value';
import { Gauge, type Registry } from 'prom-client';
import { Agent, request } from 'undici';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { PAIR_KEY_BYTES, RING_SLOTS, RING_VNODES, RingView } from '../common/pool-ring.js';
import { type Membership, type MembershipSource, type PoolMember, soloMembership } from '../kvcache/membership.js';

/** 4096 members of the longest names and addresses, with keys, stay under this. */
const MAX_RING_BYTES = 8 * 1024 * 1024;

export interface RingFollowerOptions {
  /** The coordinator's control URL. */
  readonly coordinator: string;
  readonly nodeName: string;
  /** The credentials the agent reports with (a node token, or a ServiceAccount token read each time). */
  readonly token?: string;
  readonly tokenSource?: () => Promise<string>;
  readonly log: Logger;
  /** Whole request (default 5 s). */
  readonly timeoutMs?: number;
}

export interface RingFollower extends MembershipSource, Disposable {
  /** The coordinator's ring version, from a report reply: fetches the ring when it differs. */
  offer(version: number): void;
  /** Fetches the ring now; resolves true when it was taken. */
  refresh(): Promise<boolean>;
}

/** A membership that never changes (an agent without a coordinator). */
export function staticMembership(m: Membership): MembershipSource {
  return { current: () => m, onChange: () => () => undefined };
}

/** The membership a checked GET /v1/ring reply gives node `self`; throws with the reason otherwise. */
export function membershipFromRing(self: string, body: unknown): Membership {
  if (!Value.Check(RingView, body)) {
    const first = Value.Errors(RingView, body).First();
    throw new Error(`the ring reply is invalid: ${first?.path || '/'} ${first?.message ?? ''}`.trim());
  }
  // Agents of one pool must build the same ring: a coordinator publishing other parameters is another brixlet version.
  if (body.slots !== RING_SLOTS || body.vnodes !== RING_VNODES) {
    throw new Error(`the ring has ${body.slots} slots and ${body.vnodes} virtual nodes; this agent builds ${RING_SLOTS} and ${RING_VNODES} (run one brixlet version)`);
  }
  const names = new Set<string>();
  for (const m of body.members) {
    if (names.has(m.node)) throw new Error(`the ring lists node ${m.node} twice`);
    names.add(m.node);
  }
  const pairKeys = new Map<string, Buffer>();
  for (const [node, text] of Object.entries(body.pairKeys ?? {})) {
    const key = Buffer.from(text, 'base64url');
    if (key.length !== PAIR_KEY_BYTES) throw new Error(`the pair key for ${node} is not ${PAIR_KEY_BYTES} bytes`);
    if (node !== self && names.has(node)) pairKeys.set(node, key);
  }
  const members: PoolMember[] = body.members.map((m) => ({ node: m.node, peerAddress: m.peerAddress })).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return { version: body.version, self, members, pairKeys };
}

export function createRingFollower(opts: RingFollowerOptions): RingFollower {
  const log = opts.log.child({ component: 'ring' });
  const url = `${opts.coordinator.replace(/\/+$/, '')}/v1/ring?node=${encodeURIComponent(opts.nodeName)}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const dispatcher = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const abort = new AbortController();
  const listeners = new Set<(m: Membership) => void>();
  let current = soloMembership(opts.nodeName);
  let wanted: number | undefined;
  let inFlight: Promise<boolean> | undefined;
  let lastError: string | undefined;
  let disposed = false;

  async function fetchRing(): Promise<Membership> {
    const token = opts.tokenSource === undefined ? opts.token : await opts.tokenSource();
    const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const res = await request(url, { headers, dispatcher, signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]) });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_RING_BYTES) {
        res.body.destroy();
        throw new Error(`the ring reply is larger than ${MAX_RING_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    return membershipFromRing(opts.nodeName, JSON.parse(text));
  }

  function adopt(next: Membership): void {
    // One coordinator publishes one membership per version (a restarted one starts higher).
    if (next.version === current.version) return;
    current = next;
    log.info({ ringVersion: next.version, members: next.members.length, peers: next.pairKeys.size }, 'KV pool membership changed');
    for (const fn of listeners) {
      try {
        fn(next);
      } catch (err) {
        log.error({ err }, 'a membership listener failed');
      }
    }
  }

  async function refresh(): Promise<boolean> {
    if (disposed) return false;
    if (inFlight !== undefined) return inFlight;
    const asked = wanted;
    inFlight = (async () => {
      try {
        adopt(await fetchRing());
        if (lastError !== undefined) log.info({ url }, 'fetching the KV pool ring again');
        lastError = undefined;
        return true;
      } catch (err) {
        if (disposed) return false;
        const reason = (err as Error).message || String(err);
        // Said once until it recovers: the next report reply tries again.
        if (reason !== lastError) log.warn({ url, reason }, 'cannot fetch the KV pool ring; keeping the membership held (the next report retries)');
        lastError = reason;
        return false;
      } finally {
        inFlight = undefined;
      }
    })();
    const ok = await inFlight;
    // Another version was announced while this fetch ran: fetch once more (never in a loop).
    if (ok && wanted !== asked && wanted !== current.version && !disposed) void refresh();
    return ok;
  }

  return {
    name: 'KV ring follower',
    current: () => current,
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    offer(version) {
      wanted = version;
      if (version !== current.version && inFlight === undefined) void refresh();
    },
    refresh,
    async dispose() {
      if (disposed) return;
      disposed = true;
      listeners.clear();
      abort.abort();
      await inFlight?.catch(() => undefined);
      await dispatcher.close();
    },
  };
}

/** brixlet_kvcache_ring_version and brixlet_kvcache_ring_members, read from `source` at scrape time. */
export function registerRingMetrics(registry: Registry, source: MembershipSource): void {
  const registers = [registry];
  new Gauge({
    name: 'brixlet_kvcache_ring_version',
    help: 'Version of the KV pool membership this agent follows (GET /v1/ring on the coordinator); 0 = no coordinator answered yet.',
    registers,
    collect() {
      this.set(source.current().version);
    },
  });
  new Gauge({
    name: 'brixlet_kvcache_ring_members',
    help: 'Agents in the KV pool membership this agent follows, itself included once it is a member.',
    registers,
    collect() {
      this.set(source.current().members.length);
    },
  });
}
