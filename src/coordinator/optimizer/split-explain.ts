/**
 * Why the plan splits each loaded cell over the GPU types as it does, for GET /v1/optimizer/explain.
 *
 * The plan pays per GPU; one request/s of a cell costs cost ÷ throughput on a type (its cost per unit
 * of load). A cell's requests go to the cheapest type per unit unless a constraint keeps them off it:
 * that type's availability cap, the total cap, a floor (GPUs that run anyway have room), the add
 * cost (room on GPUs in force against a cold start), the plan gate (the plan in force stays), or
 * whole GPUs (room left on a GPU the plan needs anyway; or, when both have room, either split costs
 * the same). A type with throughput 0 there is infeasible; one capped at 0 is unavailable.
 *
 * Read from the planner's last committed round (the problem it solved and the split it got): pure,
 * nothing here solves.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ModelResult } from './planner.js';
import { remapUnservable } from './planner.js';
import type { PlanType } from './types.js';

export const SplitDecision = Type.Union(
  [Type.Literal('cheapest'), Type.Literal('overflow'), Type.Literal('capped'), Type.Literal('unused'), Type.Literal('dearer'), Type.Literal('infeasible')],
  {
    description:
      'cheapest: takes a share, the lowest cost per unit of load; overflow: takes a share though dearer (binding says why); capped: cheaper, takes nothing, at its availability cap (or capped at 0); unused: cheaper, takes nothing, the plan\'s GPUs carry the cell elsewhere at no extra cost or another whole GPU would cost more; dearer: takes nothing, dearer per unit; infeasible: throughput 0 for this shape (not within the SLO at any rate).',
  },
);

const SplitTypeView = Type.Object({
  gpu: Type.String(),
  share: Type.Number({ description: 'Share of the cell\'s requests this type takes (0 to 1).' }),
  throughput: Type.Number({ description: 'Requests/s one GPU of this type sustains for this shape within the SLO (0 = infeasible).' }),
  costPerRps: Type.Union([Type.Number(), Type.Null()], { description: 'Cost per unit of load: the GPU cost one request/s of this shape needs (cost ÷ throughput); null when infeasible.' }),
  decision: SplitDecision,
  why: Type.String(),
});

export const SplitExplainView = Type.Object(
  {
    types: Type.Array(
      Type.Object({
        gpu: Type.String(),
        gpus: Type.Integer({ minimum: 0, description: 'GPUs the plan asks for.' }),
        cap: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'GPUs left to this model (availability); null = none known.' }),
        min: Type.Integer({ minimum: 0 }),
        load: Type.Number({ description: 'Load the split puts on the type, in GPUs (Σ rate ÷ throughput).' }),
        spare: Type.Number({ description: 'Room left on its GPUs, in GPUs (headroom × gpus − load).' }),
      }),
    ),
    cells: Type.Array(
      Type.Object({
        output: Type.Number(),
        input: Type.Number(),
        rate: Type.Number({ description: 'Requests/s of this shape planned for.' }),
        binding: Type.Union([Type.String(), Type.Null()], { description: 'What keeps part of the cell off its cheapest type; null when all of it goes there.' }),
        types: Type.Array(SplitTypeView),
      }),
    ),
  },
  { description: 'Per loaded cell (after unservable cells are planned as their neighbours), which GPU type takes what share and why.' },
);
export type SplitExplainView = Static<typeof SplitExplainView>;

const EPS = 1e-9;
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** The split of `r`'s last plan, explained; empty when it has none (no load, no deployment). */
export function explainSplit(r: ModelResult): SplitExplainView {
  const w = r.solvedWith;
  if (w === undefined || r.split.length === 0) return { types: [], cells: [] };
  const { grid } = r;
  const n = grid.inputs.length;
  const { load } = remapUnservable(r.load, w.types);
  const counts = (t: PlanType): number => r.target[t.name] ?? 0;
  const used = new Map<string, number>();
  for (const c of r.split) {
    const rate = (load.shares[c.cell] ?? 0) * load.rate;
    for (const t of w.types) {
      const tput = t.tputs[c.cell] as number;
      const share = c.shares[t.name] ?? 0;
      if (share > 0 && tput > 0) used.set(t.name, (used.get(t.name) ?? 0) + (rate * share) / tput);
    }
  }
  const spare = (t: PlanType): number => w.headroom * counts(t) - (used.get(t.name) ?? 0);
  const total = w.types.reduce((a, t) => a + counts(t), 0);
  const atCap = (t: PlanType): boolean => t.max !== undefined && counts(t) >= t.max;

  const cells = r.split.map((c) => {
    const rate = (load.shares[c.cell] ?? 0) * load.rate;
    const unit = (t: PlanType): number | undefined => {
      const tput = t.tputs[c.cell] as number;
      return tput > 0 && t.max !== 0 ? t.cost / tput : undefined;
    };
    const units = w.types.map(unit).filter((u): u is number => u !== undefined);
    const best = units.length === 0 ? Infinity : Math.min(...units);
    const takers = w.types.filter((t) => (c.shares[t.name] ?? 0) > 0);
    const worstTaker = Math.max(...takers.map((t) => unit(t) ?? 0), 0);
    let binding: string | null = null;

    /** Why cheaper type `c2` did not take the share `t` carries (`t` dearer). */
    const keptOff = (t: PlanType, share: number): string => {
      const ut = unit(t) as number;
      const cheaper = w.types.filter((x) => {
        const u = unit(x);
        return u !== undefined && u < ut * (1 - EPS);
      });
      const first = cheaper[0] as PlanType;
      const capped = cheaper.find(atCap);
      let why: string;
      let bind: string;
      if (r.held !== undefined) {
        bind = 'plan gate';
        why = `the plan in force stays (plan gate), and its ${t.name} GPUs carry this share`;
      } else if (capped !== undefined) {
        bind = `${capped.name}'s availability cap (${capped.max})`;
        why = `${capped.name} is cheaper per unit (${fmt(unit(capped) as number)}) but at its availability cap ${capped.max}`;
      } else if (w.totalMax !== undefined && total >= w.totalMax) {
        bind = `total cap (${w.totalMax} GPUs)`;
        why = `the total cap of ${w.totalMax} GPUs is reached: the cheaper ${cheaper.map((x) => x.name).join(', ')} cannot have another GPU`;
      } else if (t.min !== undefined && t.min > 0 && counts(t) <= t.min) {
        bind = `${t.name}'s minimum (${t.min})`;
        why = `${t.name} is held at its minimum ${t.min}: those GPUs run anyway and have room for this share`;
      } else if (w.addCost > 0 && t.current !== undefined && counts(t) <= t.current && cheaper.every((x) => counts(x) >= (x.current ?? 0))) {
        bind = 'add cost';
        why = `${t.name}'s GPUs in force have room for it; another ${first.name} GPU would pay the add cost (a cold start)`;
      } else {
        bind = 'whole GPUs';
        const need = (rate * share) / (first.tputs[c.cell] as number);
        why =
          spare(first) + EPS >= need
            ? `whole GPUs: the plan pays per GPU, and the GPUs it asks for carry this share on ${t.name} or ${first.name} at the same cost`
            : `whole GPUs: ${first.name}'s ${counts(first)} GPUs are full (room ${fmt(Math.max(0, spare(first)))} GPU) and another costs more than room on ${t.name}'s GPUs, needed anyway`;
      }
      binding ??= bind;
      return why;
    };

    const types = w.types.map((t) => {
      const tput = t.tputs[c.cell] as number;
      const share = c.shares[t.name] ?? 0;
      const u = unit(t);
      const base = { gpu: t.name, share: round(share), throughput: tput, costPerRps: tput > 0 ? round(t.cost / tput) : null };
      if (tput <= 0) return { ...base, decision: 'infeasible' as const, why: 'throughput 0: cannot serve this shape within the SLO at any rate' };
      if (u === undefined) return { ...base, decision: 'capped' as const, why: 'availability cap 0: no such GPU is available to this model' };
      if (share > 0 && u <= best * (1 + EPS)) {
        const rest = share < 1 - 1e-6 && atCap(t) ? `; at its availability cap ${t.max}, so it takes ${pct(share)}` : '';
        return { ...base, decision: 'cheapest' as const, why: `cheapest per unit of load (${fmt(u)} per req/s)${rest}` };
      }
      if (share > 0) return { ...base, decision: 'overflow' as const, why: `${fmt(u)} per req/s against ${fmt(best)}: ${keptOff(t, share)}` };
      if (u < worstTaker * (1 - EPS)) {
        if (atCap(t)) return { ...base, decision: 'capped' as const, why: `cheaper per unit (${fmt(u)} per req/s) but at its availability cap ${t.max}` };
        const room =
          counts(t) === 0
            ? 'the plan has none of its GPUs, and one would cost more than the room on the types that take the cell'
            : spare(t) > EPS
              ? `its ${counts(t)} GPUs have room, but the plan pays per GPU: this cell costs the same on the types that take it`
              : `its ${counts(t)} GPUs are full, and another costs more than the room on the types that take the cell`;
        return { ...base, decision: 'unused' as const, why: `cheaper per unit (${fmt(u)} per req/s); ${room}` };
      }
      return { ...base, decision: 'dearer' as const, why: `${fmt(u)} per req/s, dearer than ${takers.map((x) => `${x.name} (${fmt(unit(x) as number)})`).join(', ')}` };
    });
    return { output: grid.outputs[Math.floor(c.cell / n)] as number, input: grid.inputs[c.cell % n] as number, rate: round(rate), binding, types };
  });
  return {
    types: w.types.map((t) => ({ gpu: t.name, gpus: counts(t), cap: t.max ?? null, min: t.min ?? 0, load: round(used.get(t.name) ?? 0), spare: round(spare(t)) })),
    cells,
  };
}
