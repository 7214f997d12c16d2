// The registry's API shapes: what /v1/nodes serves must validate against the published schema, and
// the schema must reject a view that lost what the coordinator derives.
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { expect, it } from 'vitest';
import { NodeList, NodeView, ReportReply } from '../../../src/coordinator/registry/node-schemas.js';
import { Registry } from '../../../src/coordinator/registry/registry.js';

// The HTTP layer checks date-time (ajv); TypeBox's Value needs the format registered to check it too.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v));

it('registry views validate against NodeView, NodeList and ReportReply', () => {
  let now = Date.parse('2026-02-03T04:05:06Z');
  const registry = new Registry({ now: () => now, staleAfter: 2, sweepTimer: false });
  const view = registry.upsertNode({ name: 'n1', agentUrl: 'http://n1:9464', version: '1', components: [], heartbeatMs: 1000, accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'H100', health: 'unhealthy', reasons: ['XID 79'] }] });
  expect(Value.Check(NodeView, view)).toBe(true);
  expect(view).toMatchObject({ state: 'ready', unhealthyGpus: 1 });
  now += 5000;
  const list = { nodes: registry.listNodes() };
  expect(Value.Check(NodeList, list)).toBe(true);
  expect(list.nodes[0]).toMatchObject({ state: 'stale' });
  expect(Value.Check(ReportReply, { node: view, heartbeatMs: 1000 })).toBe(true);
  const { state: _state, ...withoutState } = view;
  expect(Value.Check(NodeView, withoutState)).toBe(false);
  expect(Value.Check(NodeView, { ...view, state: 'gone' })).toBe(false);
});
