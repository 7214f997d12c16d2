/** A PlanProblem from validated profiles, a load on their grid and per-type limits (CLI, bench, tests). */
import { BrixletError } from '../../common/errors.js';
import { checkGridsAgree } from './profiles.js';
import type { GridLoad, PlanModel, PlanProblem, PlanType, ServingProfile } from './types.js';

export interface ProblemOptions {
  readonly model?: PlanModel;
  /** Per GPU type (profile `gpu`); a name with no profile is an error. */
  readonly max?: Readonly<Record<string, number>>;
  readonly min?: Readonly<Record<string, number>>;
  readonly current?: Readonly<Record<string, number>>;
  /** Replaces the profiles' costs, per GPU type. */
  readonly cost?: Readonly<Record<string, number>>;
  readonly extra?: Partial<Omit<PlanProblem, 'grid' | 'types' | 'load' | 'model'>>;
}

export function problemFromProfiles(profiles: readonly ServingProfile[], load: Pick<GridLoad, 'rate' | 'shares'>, opts: ProblemOptions = {}): PlanProblem {
  checkGridsAgree(profiles);
  const first = profiles[0];
  if (first === undefined) throw new BrixletError('BRX_ERR_OPTIMIZER_PROBLEM', { reason: 'no profiles' });
  const names = new Set(profiles.map((p) => p.gpu));
  for (const [what, table] of Object.entries({ max: opts.max, min: opts.min, current: opts.current, cost: opts.cost })) {
    for (const name of Object.keys(table ?? {})) {
      if (!names.has(name)) throw new BrixletError('BRX_ERR_OPTIMIZER_PROBLEM', { reason: `${what} names GPU type ${name}, which has no profile (profiles: ${[...names].join(', ')})` });
    }
  }
  const types: PlanType[] = profiles.map((p) => ({
    name: p.gpu,
    cost: opts.cost?.[p.gpu] ?? p.cost,
    tputs: p.tputs,
    ...(opts.min?.[p.gpu] === undefined ? {} : { min: opts.min[p.gpu] }),
    ...(opts.max?.[p.gpu] === undefined ? {} : { max: opts.max[p.gpu] }),
    ...(opts.current?.[p.gpu] === undefined ? {} : { current: opts.current[p.gpu] }),
  }));
  return { grid: first.grid, types, load, model: opts.model ?? 'split', ...opts.extra };
}
