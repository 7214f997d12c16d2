import { describe, expect, it } from 'vitest';
import { createdMs, EXPECTATION_TTL_MS, type FleetPod, newFleetMemory, podReady, settleExpectations } from '../../../src/coordinator/orchestrator/backend.js';

const pod = (over: { phase?: string; ready?: string; deleting?: boolean; conditions?: { type?: string; status?: string }[] } = {}): FleetPod => ({
  metadata: { name: 'p', ...(over.deleting === true && { deletionTimestamp: '2026-03-01T10:00:00Z' }) },
  status: { phase: over.phase ?? 'Running', conditions: over.conditions ?? [{ type: 'Ready', status: over.ready ?? 'True' }] },
});

describe('podReady', () => {
  it('is true only for a Running pod with Ready=True that is not being deleted', () => {
    expect(podReady(pod())).toBe(true);
    expect(podReady(pod({ ready: 'False' }))).toBe(false);
    expect(podReady(pod({ ready: 'Unknown' }))).toBe(false);
    expect(podReady(pod({ phase: 'Pending' }))).toBe(false);
    expect(podReady(pod({ phase: 'Succeeded' }))).toBe(false);
    expect(podReady(pod({ deleting: true }))).toBe(false);
    expect(podReady(pod({ conditions: [{ type: 'ContainersReady', status: 'True' }] }))).toBe(false);
    expect(podReady(pod({ conditions: [] }))).toBe(false);
    expect(podReady({ metadata: { name: 'bare' } })).toBe(false);
    expect(podReady({ metadata: { name: 'x' }, status: { phase: 'Running' } })).toBe(false);
  });
});

describe('createdMs', () => {
  it('reads creationTimestamp, and 0 when it is absent or not a time', () => {
    expect(createdMs({ metadata: { creationTimestamp: '2026-03-01T10:00:00Z' } })).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(createdMs({ metadata: {} })).toBe(0);
    expect(createdMs({})).toBe(0);
    expect(createdMs({ metadata: { creationTimestamp: 'soon' } })).toBe(0);
  });
});

describe('settleExpectations', () => {
  const NOW = 1_000_000;

  it('starts empty', () => {
    const m = newFleetMemory();
    expect([m.expectCreate.size, m.expectDelete.size, m.rebuilding.size, m.gaveUp.size, m.leaders.size]).toEqual([0, 0, 0, 0, 0]);
    expect(settleExpectations(m, new Set(), new Set(), NOW)).toBe(false);
  });

  it('drops a create once the cache shows the object and keeps waiting for one it does not show yet', () => {
    const m = newFleetMemory();
    m.expectCreate.set('a', NOW).set('b', NOW);
    expect(settleExpectations(m, new Set(['a']), new Set(['a']), NOW + 10)).toBe(true);
    expect([...m.expectCreate.keys()]).toEqual(['b']);
    expect(settleExpectations(m, new Set(['a', 'b']), new Set(['a', 'b']), NOW + 20)).toBe(false);
    expect(m.expectCreate.size).toBe(0);
  });

  it('counts a created object that is already terminating as seen (present, not live)', () => {
    const m = newFleetMemory();
    m.expectCreate.set('a', NOW);
    expect(settleExpectations(m, new Set(['a']), new Set(), NOW)).toBe(false);
  });

  it('drops a delete once the object is no longer live (gone or terminating)', () => {
    const m = newFleetMemory();
    m.expectDelete.set('gone', NOW).set('terminating', NOW).set('still', NOW);
    expect(settleExpectations(m, new Set(['terminating', 'still']), new Set(['still']), NOW)).toBe(true);
    expect([...m.expectDelete.keys()]).toEqual(['still']);
  });

  it('stops waiting for a write the cache never shows once it is older than the TTL, not before', () => {
    const m = newFleetMemory();
    m.expectCreate.set('lost-create', NOW);
    m.expectDelete.set('lost-delete', NOW);
    const live = new Set(['lost-delete']);
    expect(settleExpectations(m, live, live, NOW + EXPECTATION_TTL_MS)).toBe(true);
    expect([m.expectCreate.size, m.expectDelete.size]).toEqual([1, 1]);
    expect(settleExpectations(m, live, live, NOW + EXPECTATION_TTL_MS + 1)).toBe(false);
    expect([m.expectCreate.size, m.expectDelete.size]).toEqual([0, 0]);
  });
});
