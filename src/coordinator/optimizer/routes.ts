/**
 * The GPU optimizer on the control port:
 * - `GET /metrics/:namespace/:deployment`: AIBrix's optimizer metric, one gauge
 *   `vllm:deployment_replicas{model_name="<model>"}` (1/100 GPU units with --optimizer.aibrix-compat,
 *   for a PodAutoscaler with targetValue 100; whole replicas otherwise);
 * - `GET /v1/optimizer/deployments[/:namespace/:deployment]`: JSON for KEDA's metrics-api scaler
 *   (valueLocation `replicas`, targetValue 1);
 * - `GET /v1/optimizer/plan`, `GET /v1/optimizer/explain`;
 * - `GET|PUT /v1/optimizer/profiles`, `DELETE /v1/optimizer/profiles/:model/:gpu` (writes need the
 *   cluster secret when the control API has credentials).
 * Reads answer from the last committed plan; nothing here waits for a solve.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BrixletError } from '../../common/errors.js';
import type { BrixletServer } from '../../common/http/create-server.js';
import type { ControlAuth } from '../registry/control-auth.js';
import type { LoadSource, Planner, ProfileEntry } from './planner.js';
import { parseProfile } from './profiles.js';
import {
  type DeploymentView,
  DeploymentView as DeploymentSchema,
  deploymentViews,
  ExplainView,
  explainView,
  PlanView,
  planView,
  ProfilesView,
  profilesView,
  type SplitDecisions,
} from './views.js';

export interface OptimizerRouteDeps {
  readonly planner: Planner;
  readonly load: Pick<LoadSource, 'rates'>;
  /** Report vllm:deployment_replicas in 1/100 GPU units (AIBrix PodAutoscaler, targetValue 100). */
  readonly aibrixCompat: boolean;
  readonly scaleDownWindowMs: number;
  readonly auth?: ControlAuth;
  readonly now?: () => number;
  /** The gateway's split-following filter, when --optimizer.route-split is on (explain reports it). */
  readonly split?: SplitDecisions;
}

/** Profiles one PUT may carry. */
export const MAX_PROFILES_PER_PUT = 32;

const DeploymentParams = Type.Object({
  namespace: Type.String({ minLength: 1, maxLength: 253 }),
  deployment: Type.String({ minLength: 1, maxLength: 253 }),
});

const ProfilesBody = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'The model the profiles are for; else each profile\'s own model field.' })),
    profiles: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_PROFILES_PER_PUT, description: 'AIBrix profile JSON objects (gpu, cost, tputs, indexes, …), one per GPU type.' }),
    replace: Type.Optional(Type.Boolean({ description: 'Drop the model\'s other profiles (default: add or replace these GPU types only).' })),
  },
  { additionalProperties: false },
);

const ProfileParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 253 }), gpu: Type.String({ minLength: 1, maxLength: 253 }) });

const PutReply = Type.Composite([ProfilesView, Type.Object({ warnings: Type.Array(Type.String()) })]);

/** The one gauge AIBrix's GPU optimizer serves per deployment, in Prometheus text exposition. */
export function deploymentReplicasText(model: string, value: number): string {
  const label = model.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `# HELP vllm:deployment_replicas Number of suggested replicas.\n# TYPE vllm:deployment_replicas gauge\nvllm:deployment_replicas{model_name="${label}"} ${value}\n`;
}

export async function registerOptimizerRoutes(app: BrixletServer, deps: OptimizerRouteDeps): Promise<void> {
  const { planner } = deps;
  const now = deps.now ?? Date.now;
  const find = (namespace: string, deployment: string): DeploymentView => {
    const d = deploymentViews(planner).find((x) => x.namespace === namespace && x.deployment === deployment);
    if (d === undefined) throw new BrixletError('BRX_ERR_OPTIMIZER_UNKNOWN_DEPLOYMENT', { namespace, deployment });
    return d;
  };
  const counted = (d: DeploymentView): DeploymentView & { replicas: number } => {
    if (d.replicas !== undefined) return d as DeploymentView & { replicas: number };
    const reason =
      d.unplanned ??
      (planner.planAt === undefined
        ? 'the first solve has not finished'
        : d.target !== undefined
          ? `no load seen since the coordinator started; its minimum (${d.target}) applies once --optimizer.scale-down-window has passed`
          : 'its solves have given no plan yet (GET /v1/optimizer/explain)');
    throw new BrixletError('BRX_ERR_OPTIMIZER_NO_PLAN', { namespace: d.namespace, deployment: d.deployment, reason });
  };

  app.get(
    '/metrics/:namespace/:deployment',
    {
      schema: {
        summary: 'AIBrix GPU optimizer metric: vllm:deployment_replicas{model_name} for one deployment (text exposition).',
        description: 'In 1/100 GPU units with --optimizer.aibrix-compat (an AIBrix PodAutoscaler with targetValue "100" reads it unchanged), whole replicas otherwise.',
        params: DeploymentParams,
      },
    },
    async (request, reply) => {
      const d = counted(find(request.params.namespace, request.params.deployment));
      const value = deps.aibrixCompat ? d.replicas * 100 : d.replicas;
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(deploymentReplicasText(d.model ?? d.gpu, value));
    },
  );
  app.get('/v1/optimizer/deployments', { schema: { summary: 'Every deployment the optimizer plans, with its replicas in force.', response: { 200: Type.Object({ deployments: Type.Array(DeploymentSchema) }) } } }, async () => ({
    deployments: deploymentViews(planner),
  }));
  app.get(
    '/v1/optimizer/deployments/:namespace/:deployment',
    {
      schema: {
        summary: 'One deployment\'s replicas in force, for KEDA\'s metrics-api scaler (valueLocation: replicas, targetValue: "1").',
        params: DeploymentParams,
        response: { 200: Type.Composite([DeploymentSchema, Type.Object({ replicas: Type.Integer({ minimum: 0 }) })]) },
      },
    },
    async (request) => counted(find(request.params.namespace, request.params.deployment)),
  );
  app.get('/v1/optimizer/plan', { schema: { summary: 'The plan in force: replicas per deployment, GPUs and split per type, cost, solve time and status per model.', response: { 200: PlanView } } }, async () =>
    planView(planner),
  );
  app.get(
    '/v1/optimizer/explain',
    {
      schema: {
        summary: 'Why the plan is what it is: profiles used, cells loaded and clamped, caps, binding constraints, why nothing changed, models with load and no profile.',
        description: 'Per model, `split` explains each loaded cell: the share each GPU type takes and why (cheapest cost per unit of load; infeasible at throughput 0; capped; the constraint that binds). `routeSplit` says whether the gateway follows the split and how many requests it routed per type.',
        response: { 200: ExplainView },
      },
    },
    async () => explainView(planner, (m, t) => deps.load.rates(m, t), now(), deps.scaleDownWindowMs, deps.split),
  );
  app.get('/v1/optimizer/profiles', { schema: { summary: 'The GPU profiles per model (AIBrix format), where each came from and its warnings.', response: { 200: ProfilesView } } }, async () =>
    profilesView(planner),
  );

  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    const { auth } = deps;
    if (auth?.enabled === true) {
      scope.addHook('onRequest', async (request) => auth.check(request.headers.authorization, 'admin', 'writing the optimizer\'s profiles'));
    }
    scope.put(
      '/v1/optimizer/profiles',
      {
        schema: {
          summary: 'Adds or replaces GPU profiles of a model (AIBrix JSON); the next solve uses them.',
          description: 'All profiles of a model must share one grid (else 400 BRX_ERR_OPTIMIZER_GRID_MISMATCH naming both); a refused PUT changes nothing. Cells that are NaN, null or missing are infeasible and listed in warnings. Needs the cluster secret when the control API has credentials.',
          body: ProfilesBody,
          response: { 200: PutReply },
        },
      },
      async (request) => {
        const byModel = new Map<string, ProfileEntry[]>();
        const warnings: string[] = [];
        request.body.profiles.forEach((raw, k) => {
          const { profile, warnings: w } = parseProfile(raw, `profiles[${k}]`);
          const model = request.body.model ?? profile.model;
          if (model === undefined) throw new BrixletError('BRX_ERR_OPTIMIZER_PROFILE', { source: `profiles[${k}] (${profile.gpu})`, reason: 'no model: send "model" beside "profiles", or a model field in the profile' });
          const entry: ProfileEntry = { profile: { ...profile, model }, warnings: w, source: 'PUT /v1/optimizer/profiles' };
          byModel.set(model, [...(byModel.get(model) ?? []), entry]);
          warnings.push(...w);
        });
        // Every model is checked before any is changed: a refused PUT changes nothing.
        const before = planner.profiles();
        try {
          for (const [model, entries] of byModel) planner.setProfiles(model, entries, request.body.replace === true);
        } catch (err) {
          for (const model of byModel.keys()) {
            const old = before.find((b) => b.model === model);
            planner.setProfiles(model, old?.entries ?? [], true);
          }
          throw err;
        }
        return { ...profilesView(planner), warnings };
      },
    );
    scope.delete(
      '/v1/optimizer/profiles/:model/:gpu',
      { schema: { summary: 'Forgets one GPU profile of a model; its deployment is left as it is.', params: ProfileParams, response: { 200: ProfilesView } } },
      async (request) => {
        const { model, gpu } = request.params;
        if (!planner.removeProfile(model, gpu)) throw new BrixletError('BRX_ERR_OPTIMIZER_UNKNOWN_PROFILE', { model, gpu });
        return profilesView(planner);
      },
    );
  });
}
