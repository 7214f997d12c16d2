// A fake API server serving the Chaos Mesh kinds (with status subresources, so a test can play
// the controller by patching status), shared by the chaos client and CLI tests.
import { startFakeApiServer, type FakeApiServer, type ResourceDefinition } from '../../mocks/kube-apiserver/index.js';

const kinds: [string, string][] = [
  ['PodChaos', 'podchaos'],
  ['NetworkChaos', 'networkchaos'],
  ['StressChaos', 'stresschaos'],
  ['IOChaos', 'iochaos'],
  ['Schedule', 'schedules'],
];

export const CHAOS_DEFS: ResourceDefinition[] = kinds.map(([kind, plural]) => ({ group: 'chaos-mesh.org', version: 'v1alpha1', kind, plural, namespaced: true, status: true }));

export function startChaosServer(): Promise<FakeApiServer> {
  return startFakeApiServer({ resources: CHAOS_DEFS, namespace: 'serving' });
}

/** What the Chaos Mesh controller writes once every selected container is injected. */
export const INJECTED_STATUS = {
  conditions: [
    { type: 'Selected', status: 'True' },
    { type: 'AllInjected', status: 'True' },
    { type: 'AllRecovered', status: 'False' },
    { type: 'Paused', status: 'False' },
  ],
  experiment: {
    desiredPhase: 'Run',
    containerRecords: [
      { id: 'serving/vllm-head-0', phase: 'Injected', selectorKey: '.', injectedCount: 1, recoveredCount: 0 },
      { id: 'serving/vllm-head-1', phase: 'Not Injected', selectorKey: '.', injectedCount: 0, recoveredCount: 0 },
    ],
  },
};
