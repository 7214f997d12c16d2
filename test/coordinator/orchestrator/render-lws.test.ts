import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fleetDefaults } from '../../../src/coordinator/orchestrator/fleet-spec.js';
import { lwsScript, renderLeaderWorkerSet } from '../../../src/coordinator/orchestrator/render-lws.js';
import { crdErrors, haveCrd, SKIP_REASON } from '../../chaos/crd-schema.js';
import { fleet } from './fleet-fixtures.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const spec = fleetDefaults(fleet({ backend: 'lws', replicas: 3, rollout: { maxSurge: 1, maxUnavailable: '50%' }, engineArgs: ['--max-model-len', '32768'] }).spec);
const lws = renderLeaderWorkerSet({ name: 'llama', namespace: 'serving', uid: 'u' }, spec, { revision: 'rev0000001' }) as Json;
const tpl = lws.spec.leaderWorkerTemplate;
const leader = tpl.leaderTemplate.spec.containers[0];
const worker = tpl.workerTemplate.spec.containers[0];

describe('renderLeaderWorkerSet', () => {
  it('is one LeaderWorkerSet named after the fleet, owned by it, with a group of nodesPerReplica pods per replica', () => {
    expect(lws.apiVersion).toBe('leaderworkerset.x-k8s.io/v1');
    expect(lws.kind).toBe('LeaderWorkerSet');
    expect(lws.metadata).toMatchObject({ name: 'llama', namespace: 'serving', labels: { 'brixlet.io/fleet': 'llama', 'brixlet.io/revision': 'rev0000001' } });
    expect(lws.metadata.ownerReferences[0]).toMatchObject({ kind: 'ModelFleet', name: 'llama', uid: 'u', controller: true });
    expect(lws.spec.replicas).toBe(3);
    expect(tpl.size).toBe(2);
    expect(tpl.restartPolicy).toBe('RecreateGroupOnPodRestart');
    expect(lws.spec.startupPolicy).toBe('LeaderCreated');
  });

  it("maps the fleet's rollout bounds onto LWS's rolling update", () => {
    expect(lws.spec.rolloutStrategy).toEqual({ type: 'RollingUpdate', rollingUpdateConfiguration: { maxSurge: 1, maxUnavailable: '50%' } });
  });

  it('runs vLLM without Ray on every pod, the workers headless', () => {
    expect(leader.command).toEqual(['/bin/bash', '-lc', '--']);
    expect(leader.args[0]).toBe(
      'ulimit -n 65536\nexec vllm serve meta-llama/Llama-3.1-405B-Instruct --served-model-name llama-3.1-405b-instruct --tensor-parallel-size 8 --pipeline-parallel-size 2 ' +
        '--nnodes $(LWS_GROUP_SIZE) --node-rank $(LWS_WORKER_INDEX) --master-addr $(LWS_LEADER_ADDRESS) --host 0.0.0.0 --port 8000 --max-model-len 32768',
    );
    expect(worker.args[0]).toBe(
      'ulimit -n 65536\nexec vllm serve meta-llama/Llama-3.1-405B-Instruct --tensor-parallel-size 8 --pipeline-parallel-size 2 ' +
        '--nnodes $(LWS_GROUP_SIZE) --node-rank $(LWS_WORKER_INDEX) --master-addr $(LWS_LEADER_ADDRESS) --headless --max-model-len 32768',
    );
    expect(leader.args[0]).not.toContain('ray');
    execFileSync('bash', ['-n', '-c', lwsScript(spec, 'worker')]);
  });

  it('probes only the leader (workers have no HTTP server), and labels the roles', () => {
    expect(leader.startupProbe).toMatchObject({ httpGet: { path: '/health', port: 8000 }, failureThreshold: 180 });
    expect(leader.readinessProbe.httpGet.path).toBe('/health');
    expect(leader.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    for (const k of ['startupProbe', 'readinessProbe', 'livenessProbe', 'ports']) expect(worker).not.toHaveProperty(k);
    expect(tpl.leaderTemplate.metadata.labels).toMatchObject({ 'brixlet.io/fleet': 'llama', 'brixlet.io/revision': 'rev0000001', 'brixlet.io/role': 'serving' });
    expect(tpl.workerTemplate.metadata.labels).toMatchObject({ 'brixlet.io/role': 'worker' });
  });

  it('gives every pod the GPUs, /dev/shm in memory and the scheduling; nodes to avoid by name', () => {
    for (const c of [leader, worker]) {
      expect(c.resources.limits['nvidia.com/gpu']).toBe('8');
      expect(c.volumeMounts).toEqual([{ name: 'dshm', mountPath: '/dev/shm' }]);
    }
    const avoided = renderLeaderWorkerSet({ name: 'llama' }, spec, { revision: 'r', avoidNodes: ['bad-node'] }) as Json;
    expect(avoided.spec.leaderWorkerTemplate.workerTemplate.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['bad-node'] }] },
    ]);
    expect(avoided.metadata).not.toHaveProperty('namespace');
  });

  it.skipIf(!haveCrd('LeaderWorkerSet'))(`validates against the LeaderWorkerSet CRD${SKIP_REASON}`, () => {
    expect(crdErrors(lws)).toEqual([]);
    const broken = structuredClone(lws);
    broken.spec.leaderWorkerTemplate.restartPolicy = 'Sometimes';
    expect(crdErrors(broken).join('\n')).toContain('/spec/leaderWorkerTemplate/restartPolicy enum');
  });
});
