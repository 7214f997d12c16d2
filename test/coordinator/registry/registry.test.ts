import { describe, expect, it } from 'vitest';
import { Registry } from '../../../src/coordinator/registry/registry.js';

describe('registry', () => {
  it('adds and refreshes nodes, keeping first-seen', () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const reg = new Registry(() => new Date(t));
    reg.upsertNode({ name: 'b', agentUrl: 'http://b:9464', version: '1', components: [] });
    t += 5000;
    reg.upsertNode({ name: 'a', agentUrl: 'http://a:9464', version: '1', components: ['kvcache'] });
    reg.upsertNode({ name: 'b', agentUrl: 'http://b:9464', version: '2', components: [] });
    const nodes = reg.listNodes();
    expect(nodes.map((n) => n.name)).toEqual(['a', 'b']);
    expect(nodes[1]).toMatchObject({ version: '2', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:05.000Z' });
    expect(reg.removeNode('a')).toBe(true);
    expect(reg.removeNode('a')).toBe(false);
  });

  it('rejects malformed reports with a code and keeps the old state', () => {
    const reg = new Registry();
    reg.upsertNode({ name: 'n', agentUrl: 'http://n', version: '1', components: [] });
    for (const bad of [null, {}, { name: '', agentUrl: 'u', version: '1', components: [] }, { name: 'n', agentUrl: 'u', version: '1', components: [], extra: 1 }]) {
      expect(() => reg.upsertNode(bad)).toThrow(expect.objectContaining({ code: 'BRX_ERR_REGISTRY_INVALID_NODE' }));
    }
    expect(reg.listNodes()).toHaveLength(1);
    expect(reg.listNodes()[0]?.agentUrl).toBe('http://n');
  });

  it('unions models across engines, each once, sorted', () => {
    const reg = new Registry();
    expect(reg.models()).toEqual([]);
    reg.upsertEngine({ id: 'e1', url: 'http://e1', models: ['llama-3-8b', 'qwen2-7b'] });
    reg.upsertEngine({ id: 'e2', url: 'http://e2', models: ['deepseek-r1', 'llama-3-8b'] });
    expect(reg.models()).toEqual(['deepseek-r1', 'llama-3-8b', 'qwen2-7b']);
    reg.removeEngine('e1');
    expect(reg.models()).toEqual(['deepseek-r1', 'llama-3-8b']);
    expect(() => reg.upsertEngine({ id: '', url: 'x', models: [] })).toThrow(TypeError);
  });
});
