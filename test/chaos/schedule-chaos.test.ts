import { describe, expect, it } from 'vitest';
import { ioChaos } from '../../src/chaos/io-chaos.js';
import { networkChaos } from '../../src/chaos/network-chaos.js';
import { podChaos } from '../../src/chaos/pod-chaos.js';
import { scheduleChaos } from '../../src/chaos/schedule-chaos.js';
import { stressChaos } from '../../src/chaos/stress-chaos.js';
import { validateChaos } from '../../src/chaos/validate-chaos.js';
import { crdErrors, HAVE_CRDS, SKIP_REASON } from './crd-schema.js';

const sel = { labelSelectors: { app: 'agent' } };
const experiments = [
  podChaos({ name: 'kill', namespace: 'soak', action: 'pod-kill', selector: sel }),
  networkChaos({ name: 'delay', namespace: 'soak', action: 'delay', delay: { latency: '50ms' }, duration: '30s', selector: sel }),
  stressChaos({ name: 'stress', namespace: 'soak', cpu: { workers: 1, load: 50 }, duration: '30s', selector: sel }),
  ioChaos({ name: 'io', namespace: 'soak', action: 'fault', errno: 28, volumePath: '/dev/shm', duration: '30s', selector: sel }),
];

describe('scheduleChaos', () => {
  it('embeds each kind under its own field with type set, named and placed like the experiment', () => {
    const s = scheduleChaos({ schedule: '*/15 * * * *', concurrencyPolicy: 'Forbid', historyLimit: 3, startingDeadlineSeconds: 60, experiment: experiments[1]! });
    expect(s).toEqual({
      apiVersion: 'chaos-mesh.org/v1alpha1',
      kind: 'Schedule',
      metadata: { name: 'delay', namespace: 'soak', labels: { 'app.kubernetes.io/managed-by': 'brixlet' } },
      spec: { schedule: '*/15 * * * *', type: 'NetworkChaos', networkChaos: experiments[1]!.spec, concurrencyPolicy: 'Forbid', historyLimit: 3, startingDeadlineSeconds: 60 },
    });
    expect(Object.keys(scheduleChaos({ name: 'io-soak', schedule: '@hourly', experiment: experiments[3]! }).spec)).toEqual(['schedule', 'type', 'ioChaos']);
  });

  it.skipIf(!HAVE_CRDS)(`wrapping every experiment kind passes the Schedule CRD${SKIP_REASON}`, () => {
    for (const e of experiments) expect(crdErrors(scheduleChaos({ schedule: '@every 10m', experiment: e })), e.kind).toEqual([]);
  });

  it('refuses bad cron expressions and a spec for another kind', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(() => scheduleChaos({ schedule: '* * *', experiment: experiments[0]! }))).toContain('a cron schedule has 5 fields');
    expect(err(() => scheduleChaos({ schedule: '@every never', experiment: experiments[0]! }))).toContain('@every needs a positive duration');
    expect(err(() => scheduleChaos({ schedule: '@sometimes', experiment: experiments[0]! }))).toContain('unknown descriptor');
    const s = scheduleChaos({ schedule: '0 3 * * 1-5', experiment: experiments[0]! });
    const mixed = { ...s, spec: { ...s.spec, type: 'StressChaos' } };
    expect(err(() => validateChaos(mixed))).toContain('spec.podChaos is set but spec.type is StressChaos; spec.stressChaos is required for type StressChaos');
  });
});
