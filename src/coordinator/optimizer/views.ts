/**
 * What the optimizer's routes answer: the plan (replicas per deployment, counts and split per GPU
 * type, cost, solve time, status), the explanation (profiles used, cells loaded or clamped, binding
 * constraints, why nothing changed) and one deployment for KEDA's metrics-api scaler. Built from the
 * planner's last committed round: reading never waits for a solve.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ModelResult, Planner } from './planner.js';
import type { ProfileEntry } from './planner.js';
import type { SplitResult } from './route-split.js';
import { explainSplit, SplitExplainView } from './split-explain.js';

const Counts = Type.Record(Type.String(), Type.Integer({ minimum: 0 }));
const iso = (ms: number): string => new Date(ms).toISOString();

export const DeploymentView = Type.Object({
  namespace: Type.String(),
  deployment: Type.String(),
  model: Type.Optional(Type.String()),
  gpu: Type.String({ description: 'GPU type: the profile it is planned with.' }),
  replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Replicas in force (what autoscalers read); absent until a plan or the settings give one.' })),
  target: Type.Optional(Type.Integer({ minimum: 0, description: 'What the last solve asked for.' })),
  scaleDownAt: Type.Optional(Type.String({ format: 'date-time', description: 'When a pending scale-down to a lower target takes effect.' })),
  unplanned: Type.Optional(Type.String({ description: 'Why the plan leaves this deployment as it is.' })),
  planAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export type DeploymentView = Static<typeof DeploymentView>;

const SplitCell = Type.Object({ output: Type.Number(), input: Type.Number(), shares: Type.Record(Type.String(), Type.Number()) });

export const ModelPlanView = Type.Object({
  model: Type.String(),
  status: Type.String({ description: 'optimal, time-limit, infeasible, error, minimums (no load) or no-deployment.' }),
  rate: Type.Number({ description: 'Requests/s planned for: the max of the short and long horizons, or the forecast one lead ahead when higher (--optimizer.forecast-lead).' }),
  forecast: Type.Optional(
    Type.Object(
      {
        leadMs: Type.Number(),
        rateNow: Type.Number({ description: 'Requests/s now (max of the horizons).' }),
        slope: Type.Number({ description: 'The trend, requests/s per second.' }),
        rate: Type.Number({ description: 'Requests/s forecast leadMs ahead (planned for when above rateNow).' }),
      },
      { description: 'With --optimizer.forecast-lead above 0.' },
    ),
  ),
  types: Counts,
  cost: Type.Number({ description: 'Σ cost × GPUs of the target (profile cost units).' }),
  solveMs: Type.Number(),
  solvedAt: Type.String({ format: 'date-time' }),
  split: Type.Array(SplitCell, { description: 'Per loaded cell, the share of its requests each GPU type takes.' }),
  message: Type.Optional(Type.String()),
});

export const PlanView = Type.Object({
  at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the plan in force was made; null before the first.' }),
  models: Type.Array(ModelPlanView),
  deployments: Type.Array(DeploymentView),
  pending: Type.Array(Type.String(), { description: 'Changes waiting for the next solve (profiles, deployments, availability, load).' }),
});
export type PlanView = Static<typeof PlanView>;

const Cell = Type.Object({ output: Type.Number(), input: Type.Number(), share: Type.Number() });

export const ExplainView = Type.Object({
  at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  models: Type.Array(
    Type.Object({
      model: Type.String(),
      status: Type.String(),
      profiles: Type.Array(Type.Object({ gpu: Type.String(), cost: Type.Number(), source: Type.String(), warnings: Type.Array(Type.String()) })),
      grid: Type.Object({ outputs: Type.Array(Type.Number()), inputs: Type.Array(Type.Number()) }),
      load: Type.Object({
        rate: Type.Number(),
        shortRate: Type.Number(),
        longRate: Type.Number(),
        observed: Type.Number({ description: 'Decayed requests behind the shares.' }),
        clamped: Type.Number({ description: 'Of those, outside the grid: planned at its edge cells.' }),
        cells: Type.Array(Cell),
      }),
      caps: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.Null()]), { description: 'Availability cap per GPU type (null = none known).' }),
      binding: Type.Array(Type.String()),
      why: Type.Array(Type.String()),
      split: SplitExplainView,
    }),
  ),
  routeSplit: Type.Object(
    {
      enabled: Type.Boolean({ description: 'Whether the gateway follows the plan\'s split (--optimizer.route-split).' }),
      why: Type.String(),
      decisions: Type.Array(
        Type.Object({
          model: Type.String(),
          gpu: Type.String({ description: 'The GPU type picked for the request\'s shape; none for a shape the plan has no share for.' }),
          result: Type.Union([Type.Literal('followed'), Type.Literal('fallback'), Type.Literal('unplanned')]),
          requests: Type.Integer({ minimum: 0 }),
        }),
        { description: 'Requests routed per split type since the coordinator started (brixlet_router_split_decisions_total).' },
      ),
    },
    { description: 'Whether the router follows the split, and what it has routed by it.' },
  ),
  unprofiled: Type.Array(Type.Object({ model: Type.String(), rate: Type.Number(), why: Type.String() }), { description: 'Models with load and no profile (nothing is scaled for them).' }),
  pending: Type.Array(Type.String()),
});
export type ExplainView = Static<typeof ExplainView>;

export const ProfilesView = Type.Object({
  models: Type.Array(
    Type.Object({
      model: Type.String(),
      profiles: Type.Array(
        Type.Object({
          gpu: Type.String(),
          cost: Type.Number(),
          source: Type.String(),
          created: Type.Optional(Type.Number()),
          slos: Type.Optional(Type.Record(Type.String(), Type.Number())),
          indexes: Type.Tuple([Type.Array(Type.Number()), Type.Array(Type.Number())], { description: '[output ticks, input ticks], as AIBrix.' }),
          tputs: Type.Array(Type.Array(Type.Number()), { description: 'Rows = output ticks; 0 = infeasible.' }),
          warnings: Type.Array(Type.String()),
        }),
      ),
    }),
  ),
});
export type ProfilesView = Static<typeof ProfilesView>;

export function deploymentViews(planner: Planner): DeploymentView[] {
  const at = planner.planAt;
  return planner.deployments().map((d) => ({
    namespace: d.namespace,
    deployment: d.name,
    gpu: d.gpu,
    ...(d.model !== undefined && { model: d.model }),
    ...(d.replicas !== undefined && { replicas: d.replicas }),
    ...(d.target !== undefined && { target: d.target }),
    ...(d.scaleDownAt !== undefined && { scaleDownAt: iso(d.scaleDownAt) }),
    ...(d.unplanned !== undefined && { unplanned: d.unplanned }),
    ...(at !== undefined && { planAt: iso(at) }),
  }));
}

function splitView(r: ModelResult): Static<typeof SplitCell>[] {
  const n = r.grid.inputs.length;
  return r.split.map((c) => ({ output: r.grid.outputs[Math.floor(c.cell / n)] as number, input: r.grid.inputs[c.cell % n] as number, shares: { ...c.shares } }));
}

export function planView(planner: Planner): PlanView {
  const at = planner.planAt;
  return {
    at: at === undefined ? null : iso(at),
    models: planner.modelResults().map((r) => ({
      model: r.model,
      status: r.status,
      rate: r.load.rate,
      ...(r.forecast !== undefined && { forecast: { ...r.forecast } }),
      types: { ...r.target },
      cost: r.cost,
      solveMs: r.solveMs,
      solvedAt: iso(r.at),
      split: splitView(r),
      ...(r.message !== undefined && { message: r.message }),
    })),
    deployments: deploymentViews(planner),
    pending: planner.pendingChange,
  };
}

/** What explain reads of the gateway's split-following filter. */
export interface SplitDecisions {
  decisions(): { model: string; type: string; result: SplitResult; n: number }[];
}

function routeSplitView(split: SplitDecisions | undefined): ExplainView['routeSplit'] {
  if (split === undefined) return { enabled: false, why: 'the gateway routes by its policy alone (--optimizer.route-split is off)', decisions: [] };
  const decisions = split
    .decisions()
    .map((d) => ({ model: d.model, gpu: d.type, result: d.result, requests: d.n }))
    .sort((a, b) => (a.model !== b.model ? (a.model < b.model ? -1 : 1) : a.gpu !== b.gpu ? (a.gpu < b.gpu ? -1 : 1) : a.result < b.result ? -1 : a.result > b.result ? 1 : 0));
  return { enabled: true, why: 'the gateway sends each request of a planned model to a GPU type by the plan\'s share for its shape, then its policy picks within the type (--optimizer.route-split)', decisions };
}

export function explainView(
  planner: Planner,
  rates: (model: string, now: number) => [number, number],
  now: number,
  scaleDownWindowMs: number,
  split?: SplitDecisions,
): ExplainView {
  const at = planner.planAt;
  const profiles = new Map(planner.profiles().map((p) => [p.model, p.entries]));
  const deployments = planner.deployments();
  return {
    at: at === undefined ? null : iso(at),
    models: planner.modelResults().map((r) => {
      const [shortRate, longRate] = rates(r.model, now);
      const n = r.grid.inputs.length;
      const cells: Static<typeof Cell>[] = [];
      r.load.shares.forEach((share, k) => {
        if (share > 0) cells.push({ output: r.grid.outputs[Math.floor(k / n)] as number, input: r.grid.inputs[k % n] as number, share });
      });
      const why: string[] = [];
      if (r.status === 'infeasible' || r.status === 'error' || (r.status === 'time-limit' && r.cost === 0 && Object.keys(r.target).length === 0)) {
        why.push(`no new plan (${r.status}): ${r.message ?? 'no reason given'}; the previous plan stays`);
      } else if (r.message !== undefined) {
        why.push(r.message);
      }
      why.push(...(r.remapped ?? []));
      if (r.held !== undefined) why.push(r.held);
      if (r.load.clamped > 0 && r.load.observed > 0) {
        why.push(`${((100 * r.load.clamped) / r.load.observed).toFixed(1)} % of requests lie outside the profile grid and are planned at its edge cells`);
      }
      for (const d of deployments.filter((x) => x.model === r.model)) {
        const name = `${d.namespace}/${d.name}`;
        if (d.unplanned !== undefined) why.push(`${name}: ${d.unplanned}`);
        else if (d.scaleDownAt !== undefined) {
          why.push(`${name}: stays at ${d.replicas} until ${iso(d.scaleDownAt)}: ${d.target} asked for, and a scale-down waits for the lower count to be asked for ${Math.round(scaleDownWindowMs / 1000)} s`);
        } else if (d.replicas !== undefined && d.target !== undefined && d.replicas === d.target) why.push(`${name}: ${d.replicas} replicas, as the plan asks`);
        else if (d.replicas !== undefined && d.target !== undefined) why.push(`${name}: ${d.replicas} replicas (asked for ${d.target}, held to the GPUs available)`);
      }
      return {
        model: r.model,
        status: r.status,
        profiles: (profiles.get(r.model) ?? []).map((e: ProfileEntry) => ({ gpu: e.profile.gpu, cost: e.profile.cost, source: e.source, warnings: [...e.warnings] })),
        grid: { outputs: [...r.grid.outputs], inputs: [...r.grid.inputs] },
        load: { rate: r.load.rate, shortRate, longRate, observed: r.load.observed, clamped: r.load.clamped, cells },
        caps: Object.fromEntries(Object.entries(r.caps).map(([k, v]) => [k, v ?? null])),
        binding: [...r.binding],
        why,
        split: explainSplit(r),
      };
    }),
    routeSplit: routeSplitView(split),
    unprofiled: planner.unprofiled(now).map((u) => ({
      model: u.model,
      rate: u.rate,
      why: `requests for ${u.model} arrive (${u.rate.toFixed(2)} req/s) but no profile covers it: nothing is scaled for it (PUT /v1/optimizer/profiles or --optimizer.profiles)`,
    })),
    pending: planner.pendingChange,
  };
}

export function profilesView(planner: Planner): ProfilesView {
  return {
    models: planner.profiles().map(({ model, entries }) => ({
      model,
      profiles: entries.map(({ profile: p, source, warnings }) => {
        const n = p.grid.inputs.length;
        const tputs: number[][] = p.grid.outputs.map((_, o) => Array.from(p.tputs.subarray(o * n, (o + 1) * n)));
        return {
          gpu: p.gpu,
          cost: p.cost,
          source,
          ...(p.created !== undefined && { created: p.created }),
          ...(p.slos !== undefined && { slos: { ...p.slos } }),
          indexes: [[...p.grid.outputs], [...p.grid.inputs]] as [number[], number[]],
          tputs,
          warnings: [...warnings],
        };
      }),
    })),
  };
}
