/**
 * Ready-made experiments for a brixlet serving cluster: the faults its recovery paths must
 * survive. Each preset takes a few parameters (namespace, selectors, duration…) with defaults that
 * match the labels brixlet's chart and KubeRay put on pods.
 */
import { BrixletError } from '../common/errors.js';
import { suggest } from '../common/suggest.js';
import type { ExperimentKind } from './chaos-kinds.js';
import { networkChaos } from './network-chaos.js';
import { podChaos } from './pod-chaos.js';
import { stressChaos } from './stress-chaos.js';
import type { ExperimentObject } from './types.js';

export const AGENT_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'brixlet', 'app.kubernetes.io/component': 'agent' };
export const COORDINATOR_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'brixlet', 'app.kubernetes.io/component': 'coordinator' };
/** KubeRay labels the head pod of every RayCluster (the engine head of a multi-node vLLM). */
export const ENGINE_HEAD_LABELS: Readonly<Record<string, string>> = { 'ray.io/node-type': 'head' };

export interface ChaosPresetParams {
  /** Namespace of the object and of the pods it selects. */
  readonly namespace: string;
  /** Object name; default `brixlet-<preset>`. */
  readonly name?: string;
  readonly duration?: string;
  /** Labels of the pods the fault hits. */
  readonly selector?: Readonly<Record<string, string>>;
  /** Labels of the pods on the other side of a network fault. */
  readonly targetSelector?: Readonly<Record<string, string>>;
  /** Only pods on this node. */
  readonly node?: string;
  readonly latency?: string;
  readonly jitter?: string;
}

type ParamName = Exclude<keyof ChaosPresetParams, 'namespace' | 'name'>;

export interface ChaosPreset {
  readonly name: string;
  readonly kind: ExperimentKind;
  readonly description: string;
  /** The optional parameters it takes (namespace and name always apply), with their defaults. */
  readonly params: Readonly<Partial<Record<ParamName, string>>>;
  build(params: ChaosPresetParams): ExperimentObject;
}

const labels = (l: Readonly<Record<string, string>>): string =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const base = (preset: string, p: ChaosPresetParams) => ({ name: p.name ?? `brixlet-${preset}`, namespace: p.namespace, labels: { 'brixlet.io/chaos-preset': preset } });

export const CHAOS_PRESETS: readonly ChaosPreset[] = [
  {
    name: 'kill-engine-head',
    kind: 'PodChaos',
    description:
      'Kills one engine head pod (the Ray head of a multi-node vLLM engine) at once, without a grace period. The whole engine group must restart; routing must drop it while it does and take it back when ready.',
    params: { selector: labels(ENGINE_HEAD_LABELS) },
    build: (p) => podChaos({ ...base('kill-engine-head', p), action: 'pod-kill', gracePeriod: 0, selector: { labelSelectors: { ...(p.selector ?? ENGINE_HEAD_LABELS) } } }),
  },
  {
    name: 'partition-agent-kv',
    kind: 'NetworkChaos',
    description:
      'Cuts one agent off from every other agent, both directions, for the duration: remote KV-cache lookups and transfers to and from it fail and must fall back to recompute. Chaos Mesh refuses hostNetwork pods, so run agents without hostNetwork in test clusters.',
    params: { selector: labels(AGENT_LABELS), duration: '60s' },
    build: (p) => {
      const agents = { labelSelectors: { ...(p.selector ?? AGENT_LABELS) } };
      return networkChaos({ ...base('partition-agent-kv', p), action: 'partition', direction: 'both', duration: p.duration ?? '60s', selector: agents, mode: 'one', target: { selector: agents, mode: 'all' } });
    },
  },
  {
    name: 'delay-coordinator-agent',
    kind: 'NetworkChaos',
    description:
      'Adds latency with jitter between the coordinator and every agent, both directions: heartbeats and reports arrive late, so readiness and routing decisions must tolerate it without flapping.',
    params: { selector: labels(COORDINATOR_LABELS), targetSelector: labels(AGENT_LABELS), duration: '60s', latency: '100ms', jitter: '10ms' },
    build: (p) =>
      networkChaos({
        ...base('delay-coordinator-agent', p),
        action: 'delay',
        delay: { latency: p.latency ?? '100ms', jitter: p.jitter ?? '10ms' },
        direction: 'both',
        duration: p.duration ?? '60s',
        selector: { labelSelectors: { ...(p.selector ?? COORDINATOR_LABELS) } },
        mode: 'all',
        target: { selector: { labelSelectors: { ...(p.targetSelector ?? AGENT_LABELS) } }, mode: 'all' },
      }),
  },
  {
    name: 'stress-gpu-node-agent',
    kind: 'StressChaos',
    description:
      'Starves the agent on one GPU node of CPU (2 workers at 90 %) and memory (512MB): sampling and heartbeats run late, and the KV-cache shard sees memory pressure. --node picks the node; otherwise one agent at random.',
    params: { selector: labels(AGENT_LABELS), duration: '60s', node: '(any)' },
    build: (p) =>
      stressChaos({
        ...base('stress-gpu-node-agent', p),
        duration: p.duration ?? '60s',
        selector: { labelSelectors: { ...(p.selector ?? AGENT_LABELS) }, ...(p.node === undefined ? {} : { nodes: [p.node] }) },
        cpu: { workers: 2, load: 90 },
        memory: { workers: 1, size: '512MB' },
      }),
  },
];

/** Builds a preset, refusing parameters it does not take (a --duration on an instant pod kill is a mistake, not a no-op). */
export function buildChaosPreset(name: string, params: ChaosPresetParams): ExperimentObject {
  const preset = CHAOS_PRESETS.find((p) => p.name === name);
  if (preset === undefined) {
    const hint = suggest(name, CHAOS_PRESETS.map((p) => p.name));
    throw new BrixletError('BRX_ERR_CHAOS_INVALID', {
      kind: 'preset',
      name,
      reason: `no such preset${hint ? ` (did you mean ${hint}?)` : ''}; presets: ${CHAOS_PRESETS.map((p) => p.name).join(', ')}`,
    });
  }
  const unused = (Object.keys(params) as (keyof ChaosPresetParams)[]).filter((k) => k !== 'namespace' && k !== 'name' && params[k] !== undefined && !(k in preset.params));
  if (unused.length > 0) {
    throw new BrixletError('BRX_ERR_CHAOS_INVALID', {
      kind: 'preset',
      name,
      reason: `it takes no ${unused.join(', ')}; it takes: namespace, name${Object.keys(preset.params).map((k) => `, ${k}`).join('')}`,
    });
  }
  return preset.build(params);
}
