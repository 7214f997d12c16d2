import { afterEach, describe, expect, it } from 'vitest';
import type { AcceleratorReport, NodeReport } from '../../../src/common/node-report.js';
import { type NodeEvent, Registry } from '../../../src/coordinator/registry/registry.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function gpu(index: number, health: AcceleratorReport['health'] = 'healthy', reasons: string[] = []): AcceleratorReport {
  return { vendor: 'nvidia', index, uuid: `GPU-${index}`, name: 'NVIDIA H100 80GB HBM3', health, reasons };
}

function report(name: string, extra: Partial<NodeReport> = {}): NodeReport {
  return { name, agentUrl: `http://${name}:9464`, version: '1', components: [], heartbeatMs: 1000, ...extra };
}

/** A registry on a fake clock, its sweep timer off, recording every event. */
function fixture(opts: { staleAfter?: number } = {}) {
  let t = T0;
  const reg = new Registry({ now: () => t, sweepTimer: false, staleAfter: opts.staleAfter ?? 3 });
  const events: string[] = [];
  reg.onChange((e: NodeEvent) => events.push(`${e.kind} ${e.node.name} ${e.node.state}`));
  return {
    reg,
    events,
    advance(ms: number) {
      t += ms;
    },
  };
}

let disposeMe: Registry | undefined;
afterEach(() => disposeMe?.dispose());

describe('registry', () => {
  it('adds and refreshes nodes, keeping first-seen, sorted by name; removes them', () => {
    const { reg, events, advance } = fixture();
    reg.upsertNode(report('b'));
    advance(500);
    reg.upsertNode(report('a', { components: ['kvcache'] }));
    reg.upsertNode(report('b', { version: '2' }));
    const nodes = reg.listNodes();
    expect(nodes.map((n) => n.name)).toEqual(['a', 'b']);
    expect(nodes[1]).toMatchObject({ version: '2', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.500Z', state: 'ready', unhealthyGpus: 0 });
    expect(nodes[1]).not.toHaveProperty('staleSince');
    expect(reg.getNode('a')?.components).toEqual(['kvcache']);
    expect(reg.removeNode('a')).toBe(true);
    expect(reg.removeNode('a')).toBe(false);
    expect(reg.getNode('a')).toBeUndefined();
    expect(events).toEqual(['added b ready', 'added a ready', 'updated b ready', 'removed a ready']);
  });

  it('rejects malformed reports with a code naming the path and keeps the old state', () => {
    const { reg } = fixture();
    reg.upsertNode(report('n'));
    const cases: [unknown, string][] = [
      [null, '/'],
      [{}, '/name'],
      [{ ...report('n'), name: '' }, '/name'],
      [{ ...report('n'), extra: 1 }, '/extra'],
      [{ ...report('n'), accelerators: [{ ...gpu(0), health: 'sick' }] }, '/accelerators/0/health'],
      [{ ...report('n'), kv: { capacityBytes: 1, usedBytes: 0, entries: 0, hitRatio: 1.5, policy: 's3fifo', socket: '/s' } }, '/kv/hitRatio'],
      [{ ...report('n'), heartbeatMs: 5 }, '/heartbeatMs'],
    ];
    for (const [bad, path] of cases) {
      let err: unknown;
      try {
        reg.upsertNode(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'BRX_ERR_REGISTRY_INVALID_NODE', statusCode: 400 });
      expect((err as Error).message).toContain(`invalid node report: ${path}`);
    }
    expect(reg.listNodes()).toHaveLength(1);
    expect(reg.getNode('n')?.agentUrl).toBe('http://n:9464');
  });

  it('stores a copy: mutating the report afterwards changes nothing', () => {
    const { reg } = fixture();
    const r = report('n', { accelerators: [gpu(0)] });
    reg.upsertNode(r);
    r.accelerators![0]!.health = 'unhealthy';
    r.components.push('x');
    expect(reg.getNode('n')).toMatchObject({ components: [], unhealthyGpus: 0 });
  });

  it('refuses an older or repeated seq from the same boot (409, nothing applied), accepts any seq from a new boot', () => {
    const { reg, events } = fixture();
    reg.upsertNode(report('n', { bootId: 'boot-1', seq: 5, version: 'five' }));
    for (const seq of [4, 5]) {
      expect(() => reg.upsertNode(report('n', { bootId: 'boot-1', seq, version: 'replayed' }))).toThrow(
        expect.objectContaining({ code: 'BRX_ERR_REGISTRY_REPLAY', statusCode: 409, message: `report seq ${seq} of agent boot boot-1 is not newer than seq 5, already taken` }),
      );
    }
    expect(reg.getNode('n')?.version).toBe('five');
    reg.upsertNode(report('n', { bootId: 'boot-1', seq: 6, version: 'six' }));
    expect(reg.getNode('n')?.version).toBe('six');
    // The agent restarted: its seq starts over.
    reg.upsertNode(report('n', { bootId: 'boot-2', seq: 1, version: 'restarted' }));
    expect(reg.getNode('n')).toMatchObject({ version: 'restarted', seq: 1, bootId: 'boot-2' });
    expect(events).toEqual(['added n ready', 'updated n ready', 'updated n ready']);
  });

  it('judges a node by at most maxHeartbeatMs, whatever its report claims, and stores the capped value', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const reg = new Registry({ now: () => now, sweepTimer: false, maxHeartbeatMs: 60_000 });
    const view = reg.upsertNode(report('n', { heartbeatMs: 3_600_000 }));
    expect(view.heartbeatMs).toBe(60_000);
    expect(reg.heartbeatOf(view)).toBe(60_000);
    expect(reg.heartbeatOf({})).toBe(10_000);
    now += 3 * 60_000 + 1;
    expect(reg.getNode('n')?.state).toBe('stale');
    expect(reg.isRoutable('n').ok).toBe(false);
    // A default above the cap is capped as well.
    expect(new Registry({ sweepTimer: false, maxHeartbeatMs: 5000 }).heartbeatOf({})).toBe(5000);
  });

  it('a heartbeat that changes only seq is not an update event', () => {
    const { reg, events, advance } = fixture();
    for (let seq = 1; seq <= 5; seq++) {
      reg.upsertNode(report('n', { bootId: 'b', seq }));
      advance(1000);
    }
    expect(events).toEqual(['added n ready']);
    expect(reg.getNode('n')?.lastSeen).toBe('2026-01-01T00:00:04.000Z');
  });
});

describe('staleness', () => {
  it('goes stale after staleAfter heartbeats, fires stale once, recovers on the next report', () => {
    const { reg, events, advance } = fixture({ staleAfter: 3 });
    reg.upsertNode(report('n', { heartbeatMs: 1000 }));
    advance(3000);
    reg.sweep();
    expect(reg.getNode('n')?.state).toBe('ready');
    expect(reg.isRoutable('n').ok).toBe(true);
    advance(1);
    expect(reg.getNode('n')).toMatchObject({ state: 'stale', staleSince: '2026-01-01T00:00:03.000Z' });
    expect(reg.isRoutable('n')).toEqual({ ok: false, reason: 'node n is stale (no agent report for 3 s)' });
    reg.sweep();
    advance(10_000);
    reg.sweep();
    reg.sweep();
    expect(events).toEqual(['added n ready', 'stale n stale']);
    reg.upsertNode(report('n', { heartbeatMs: 1000 }));
    expect(reg.getNode('n')).toMatchObject({ state: 'ready' });
    expect(reg.getNode('n')).not.toHaveProperty('staleSince');
    expect(reg.isRoutable('n').ok).toBe(true);
    reg.sweep();
    expect(events).toEqual(['added n ready', 'stale n stale', 'recovered n ready']);
  });

  it('judges each node by its own heartbeat, and by the default when a report has none', () => {
    let t = T0;
    const reg = new Registry({ now: () => t, sweepTimer: false, staleAfter: 2, defaultHeartbeatMs: 5000 });
    reg.upsertNode(report('fast', { heartbeatMs: 200 }));
    const { heartbeatMs: _, ...noBeat } = report('slow');
    reg.upsertNode(noBeat);
    t += 401;
    expect(reg.getNode('fast')?.state).toBe('stale');
    expect(reg.getNode('slow')?.state).toBe('ready');
    t += 9600;
    expect(reg.getNode('slow')?.state).toBe('stale');
  });

  it('the sweep timer marks a silent node stale on real time and tells listeners', async () => {
    const reg = new Registry({ staleAfter: 1 });
    disposeMe = reg;
    const seen: NodeEvent[] = [];
    reg.onChange((e) => seen.push(e));
    reg.upsertNode(report('quiet', { heartbeatMs: 100 }));
    // Staleness per heartbeat is tested on an injected clock above; here only that the timer fires on
    // its own and picks the silent node. The reporting node's long heartbeat keeps a stalled (loaded)
    // event loop from making it stale too.
    reg.upsertNode(report('chatty', { heartbeatMs: 10_000 }));
    const keepAlive = setInterval(() => reg.upsertNode(report('chatty', { heartbeatMs: 10_000 })), 40);
    try {
      await expect.poll(() => seen.filter((e) => e.kind === 'stale').map((e) => e.node.name), { timeout: 10_000, interval: 20 }).toEqual(['quiet']);
      await new Promise((r) => setTimeout(r, 250));
      expect(seen.filter((e) => e.kind === 'stale').map((e) => e.node.name)).toEqual(['quiet']);
      expect(reg.getNode('chatty')?.state).toBe('ready');
    } finally {
      clearInterval(keepAlive);
    }
  });

  it('a listener that throws does not stop the others or the report', () => {
    const { reg } = fixture();
    const got: string[] = [];
    reg.onChange(() => {
      throw new Error('boom');
    });
    reg.onChange((e) => got.push(e.kind));
    expect(reg.upsertNode(report('n')).name).toBe('n');
    expect(got).toEqual(['added']);
  });
});

describe('health exclusion', () => {
  const node = report('g', {
    accelerators: [gpu(0), gpu(1, 'unhealthy', ['XID 79 (GPU has fallen off the bus)']), gpu(2, 'degraded', ['PCIe link down-trained']), gpu(3, 'unknown')],
  });

  it('counts and lists unhealthy GPUs only (degraded and unknown still serve)', () => {
    const { reg } = fixture();
    reg.upsertNode(node);
    expect(reg.getNode('g')?.unhealthyGpus).toBe(1);
    expect(reg.unhealthyGpus('g').map((a) => a.uuid)).toEqual(['GPU-1']);
    expect(reg.unhealthyGpus('nobody')).toEqual([]);
  });

  it('excludes an engine on an unhealthy GPU, keeps engines on the other GPUs', () => {
    const { reg } = fixture();
    reg.upsertNode(node);
    expect(reg.isRoutable('g', ['GPU-0']).ok).toBe(true);
    expect(reg.isRoutable('g', ['GPU-2', 'GPU-3']).ok).toBe(true);
    expect(reg.isRoutable('g', ['GPU-0', 'GPU-1'])).toEqual({ ok: false, reason: 'unhealthy on node g: GPU 1 (GPU-1): XID 79 (GPU has fallen off the bus)' });
    // A GPU the agent does not report is not evidence against the engine.
    expect(reg.isRoutable('g', ['GPU-other']).ok).toBe(true);
  });

  it('with the engine\'s GPUs unknown, any unhealthy GPU of the node excludes it', () => {
    const { reg } = fixture();
    reg.upsertNode(node);
    expect(reg.isRoutable('g').ok).toBe(false);
    expect(reg.isRoutable('g', []).ok).toBe(false);
    reg.upsertNode({ ...node, accelerators: node.accelerators!.map((a) => ({ ...a, health: 'healthy' as const, reasons: [] })) });
    expect(reg.isRoutable('g')).toEqual({ ok: true });
  });

  it('a node no agent reported is routable; a stale node is out whatever its GPUs', () => {
    const { reg, advance } = fixture({ staleAfter: 1 });
    expect(reg.isRoutable('unknown-node', ['GPU-0'])).toEqual({ ok: true });
    reg.upsertNode(report('h', { accelerators: [gpu(0)] }));
    advance(1001);
    expect(reg.isRoutable('h', ['GPU-0']).ok).toBe(false);
  });

  it('the routable answer allocates nothing: one shared object', () => {
    const { reg } = fixture();
    reg.upsertNode(report('h', { accelerators: [gpu(0)] }));
    expect(reg.isRoutable('h', ['GPU-0'])).toBe(reg.isRoutable('h'));
  });
});
