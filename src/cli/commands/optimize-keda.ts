/**
 * `brixlet optimize keda`: a KEDA ScaledObject per deployment that scales it on the GPU optimizer's
 * plan without AIBrix: a metrics-api trigger reads `replicas` from the coordinator's
 * GET /v1/optimizer/deployments/NS/NAME with targetValue "1", so the HPA KEDA drives asks for exactly
 * the planned count (ceil(replicas / 1)). The optimizer already holds scale-downs for its stable
 * window, so the HPA's own scale-down stabilisation is set to 0.
 */
import { stringify } from 'yaml';
import { stringOption, usage } from '../args.js';
import type { CommandContext, OptionSpec } from '../types.js';

export interface KedaOptions {
  /** The coordinator's control URL, e.g. http://brixlet-coordinator.brixlet:8081. */
  readonly control: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly pollingInterval: number;
}

export const KEDA_OPTIONS: readonly OptionSpec[] = [
  { name: 'control', type: 'string', valueName: 'URL', description: 'keda: the coordinator control URL KEDA reaches (e.g. http://brixlet-coordinator.brixlet:8081).' },
  { name: 'namespace', type: 'string', valueName: 'NS', description: 'keda: namespace of the deployments (default default).' },
  { name: 'deployment', type: 'string', valueName: 'NAME[,NAME…]', description: 'keda: the deployments the optimizer plans, comma-separated (one ScaledObject each).' },
  { name: 'min-replicas', type: 'string', valueName: 'N', description: 'keda: minReplicaCount (default 0: the plan may remove a GPU type).' },
  { name: 'max-replicas', type: 'string', valueName: 'N', description: 'keda: maxReplicaCount (default 16).' },
  { name: 'polling-interval', type: 'string', valueName: 'S', description: 'keda: seconds between reads of the plan (default 15).' },
];

/** The ScaledObject for one deployment (keda.sh/v1alpha1). */
export function kedaScaledObject(o: KedaOptions): Record<string, unknown> {
  const base = o.control.replace(/\/+$/, '');
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: `${o.deployment}-gpu-optimizer`, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': 'brixlet' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.deployment },
      minReplicaCount: o.minReplicas,
      maxReplicaCount: o.maxReplicas,
      pollingInterval: o.pollingInterval,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
      triggers: [
        {
          type: 'metrics-api',
          metricType: 'AverageValue',
          metadata: {
            url: `${base}/v1/optimizer/deployments/${encodeURIComponent(o.namespace)}/${encodeURIComponent(o.deployment)}`,
            format: 'json',
            valueLocation: 'replicas',
            targetValue: '1',
          },
        },
      ],
    },
  };
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function count(ctx: CommandContext, name: string, def: number): number {
  const v = stringOption(ctx.args, name);
  if (v === undefined) return def;
  if (!/^\d{1,6}$/.test(v)) throw usage(`--${name} must be a whole number, got '${v}'`);
  return Number(v);
}

export async function runOptimizeKeda(ctx: CommandContext): Promise<number> {
  const control = stringOption(ctx.args, 'control');
  if (control === undefined || !/^https?:\/\/\S+$/.test(control)) throw usage('\'brixlet optimize keda\' needs --control http(s)://HOST:PORT (the coordinator control port KEDA reaches)');
  const deployments = (stringOption(ctx.args, 'deployment') ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '');
  if (deployments.length === 0) throw usage('\'brixlet optimize keda\' needs --deployment NAME[,NAME…]');
  const namespace = stringOption(ctx.args, 'namespace') ?? 'default';
  for (const n of [namespace, ...deployments]) if (!NAME.test(n) || n.length > 253) throw usage(`'${n}' is not a Kubernetes name`);
  const minReplicas = count(ctx, 'min-replicas', 0);
  const maxReplicas = count(ctx, 'max-replicas', 16);
  if (maxReplicas < Math.max(1, minReplicas)) throw usage(`--max-replicas ${maxReplicas} must be at least 1 and at least --min-replicas ${minReplicas}`);
  const pollingInterval = count(ctx, 'polling-interval', 15);
  if (pollingInterval < 1) throw usage('--polling-interval must be at least 1 (seconds)');
  const objects = deployments.map((deployment) => kedaScaledObject({ control, namespace, deployment, minReplicas, maxReplicas, pollingInterval }));
  if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(objects.length === 1 ? objects[0] : objects, null, 2)}\n`);
  else ctx.io.stdout.write(objects.map((o) => stringify(o)).join('---\n'));
  return 0;
}
