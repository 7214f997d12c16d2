import { describe, expect, it } from 'vitest';
import { registryNodeView } from '../../../src/coordinator/engines/node-view.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';

describe('registryNodeView', () => {
  it('answers routability, KV summaries and change signals from a real registry', () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const reg = new Registry({ now: () => t, sweepTimer: false, staleAfter: 2 });
    const view = registryNodeView(reg);
    let changes = 0;
    const off = view.onChange!(() => changes++);
    reg.upsertNode({ name: 'n1', agentUrl: 'http://n1:9464', version: '1', components: [], heartbeatMs: 1000 });
    reg.upsertNode({
      name: 'n2',
      agentUrl: 'http://n2:9464',
      version: '1',
      components: ['kv'],
      heartbeatMs: 1000,
      kv: { capacityBytes: 64, usedBytes: 16, entries: 2, hitRatio: null, policy: 'lru', socket: '/kv.sock' },
    });
    expect(changes).toBe(2);
    expect(view.kvOf!('n1')).toBeUndefined();
    expect(view.kvOf!('n2')).toEqual({ capacityBytes: 64, usedBytes: 16, hitRatio: null });
    expect(view.kvOf!('unknown')).toBeUndefined();
    expect(view.isRoutable('n1')).toEqual({ ok: true });
    expect(view.isRoutable('never-reported')).toEqual({ ok: true });
    t += 2500;
    reg.sweep();
    expect(changes).toBe(4);
    expect(view.isRoutable('n1')).toEqual({ ok: false, reason: 'node n1 is stale (no agent report for 3 s)' });
    off();
    reg.upsertNode({ name: 'n1', agentUrl: 'http://n1:9464', version: '1', components: [], heartbeatMs: 1000 });
    expect(changes).toBe(4);
    reg.dispose();
  });
});
