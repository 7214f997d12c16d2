import { describe, expect, it } from 'vitest';
import { chaosState, describeChaosState, hasCondition } from '../../src/chaos/chaos-status.js';
import type { ChaosObject } from '../../src/chaos/types.js';

const obj = (kind: ChaosObject['kind'], status?: ChaosObject['status']): ChaosObject => ({
  apiVersion: 'chaos-mesh.org/v1alpha1',
  kind,
  metadata: { name: 'x', namespace: 'serving' },
  spec: {},
  ...(status !== undefined && { status }),
});

describe('chaosState', () => {
  it('a missing object reports exists=false with nothing injected', () => {
    const s = chaosState('PodChaos', 'x', 'serving', undefined);
    expect(s).toEqual({ kind: 'PodChaos', name: 'x', namespace: 'serving', exists: false, conditions: {}, records: 0, injected: 0 });
    expect(describeChaosState(s)).toBe('the object does not exist');
  });

  it('reads conditions, phase and counts only Injected container records', () => {
    const s = chaosState(
      'NetworkChaos',
      'x',
      'serving',
      obj('NetworkChaos', {
        conditions: [
          { type: 'Selected', status: 'True' },
          { type: 'AllInjected', status: 'False' },
          { type: 'Paused', status: 'Unknown' },
        ],
        experiment: { desiredPhase: 'Run', containerRecords: [{ id: 'a', phase: 'Injected' }, { id: 'b', phase: 'Not Injected' }, { id: 'c', phase: 'Injected' }] },
      }),
    );
    expect(s).toMatchObject({ exists: true, desiredPhase: 'Run', records: 3, injected: 2, conditions: { Selected: 'True', AllInjected: 'False', Paused: 'Unknown' } });
    expect(s).not.toHaveProperty('active');
    expect(hasCondition(s, 'Selected')).toBe(true);
    expect(hasCondition(s, 'AllInjected')).toBe(false);
    expect(hasCondition(s, 'Paused')).toBe(false);
    expect(hasCondition(s, 'AllRecovered')).toBe(false);
    expect(describeChaosState(s)).toBe('phase Run, Selected=True AllInjected=False Paused=Unknown, 2/3 injected');
  });

  it('an object the controller has not touched says so, without a phase or counts', () => {
    const s = chaosState('PodChaos', 'x', 'serving', obj('PodChaos'));
    expect(s).not.toHaveProperty('desiredPhase');
    expect(describeChaosState(s)).toBe('phase unknown, no conditions yet (is the Chaos Mesh controller running?)');
  });

  it('a later condition of the same type wins', () => {
    const s = chaosState('PodChaos', 'x', 'ns', obj('PodChaos', { conditions: [{ type: 'AllRecovered', status: 'False' }, { type: 'AllRecovered', status: 'True' }] }));
    expect(hasCondition(s, 'AllRecovered')).toBe(true);
  });

  it('a Schedule reports active runs and its last run time, or never', () => {
    const s = chaosState('Schedule', 's', 'ns', obj('Schedule', { active: [{ kind: 'PodChaos', name: 's-1' }, { kind: 'PodChaos', name: 's-2' }], time: '2024-05-01T10:00:00Z' }));
    expect(s).toMatchObject({ active: 2, lastRun: '2024-05-01T10:00:00Z' });
    expect(describeChaosState(s)).toBe('2 active, last run 2024-05-01T10:00:00Z');
    const fresh = chaosState('Schedule', 's', 'ns', obj('Schedule', { time: null }));
    expect(fresh.active).toBe(0);
    expect(fresh).not.toHaveProperty('lastRun');
    expect(describeChaosState(fresh)).toBe('0 active, last run never');
  });
});
