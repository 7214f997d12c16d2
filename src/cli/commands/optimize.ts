/**
 * `brixlet optimize`: the GPU optimizer on files. Profiles (AIBrix JSON, one per GPU type) and a
 * workload give the cheapest GPU mix that carries the load within the profiles' SLO, printed as a
 * table or JSON. Solving runs in the optimizer's HiGHS worker thread.
 */
import { readFile, stat } from 'node:fs/promises';
import { BrixletError, type ErrorCode } from '../../common/errors.js';
import { cellName, parseProfile, PROFILE_MAX_BYTES } from '../../coordinator/optimizer/profiles.js';
import { problemFromProfiles } from '../../coordinator/optimizer/problem.js';
import { aibrixPipeline, solvePlan } from '../../coordinator/optimizer/solver.js';
import type { PlanModel, PlanProblem, PlanSolution, ServingProfile } from '../../coordinator/optimizer/types.js';
import { parseWorkload, WORKLOAD_MAX_BYTES } from '../../coordinator/optimizer/workload.js';
import { stringOption, usage } from '../args.js';
import { type Command, type CommandContext, JSON_OPTION } from '../types.js';
import { KEDA_OPTIONS, runOptimizeKeda } from './optimize-keda.js';

const MODELS: readonly PlanModel[] = ['split', 'slice'];

export const optimizeCommand: Command = {
  name: 'optimize',
  summary: 'Plan the cheapest GPU mix for a workload from GPU profiles',
  usage: 'brixlet optimize --profile A.json --profile B.json --workload W.json [--model split|slice] [--available T=N,...] [--json]',
  description: [
    'Solves the GPU optimizer\'s integer program once, on files, and prints the plan: GPUs per type,',
    'cost, how each loaded request shape is split over the types, solve time and status.',
    '',
    'Profiles are AIBrix GPU profiles (one JSON per GPU type; `gpu` names the type, `cost` its price,',
    '`tputs[o][i]` the request rate one GPU sustains within the SLO at output tick o, input tick i; 0 =',
    'cannot). NaN or missing cells count as 0 and are listed as warnings. All profiles share one grid.',
    '',
    'The workload file:',
    '  {"rate": 20, "cells": [{"output": 8, "input": 256, "share": 0.5}, {"output": 64, "input": 1024, "share": 0.5}]}',
    'rate in requests/s; output and input in tokens, snapped to the nearest grid tick (log2); a shape',
    'outside the grid is counted at its edge and listed as clamped; shares are weights (normalised).',
    '',
    'Models: split (default) lets each request shape be shared over types in any proportion (what the',
    'router can do); slice is Melange\'s / AIBrix\'s model (each shape cut into --slice-factor equal',
    'slices, each slice on one type). Both buy whole GPUs. --compare adds AIBrix\'s own pipeline (slice',
    'model in 1/100 GPUs, each type rounded up on its own) and the best single GPU type.',
    '',
    'Exit status: 0 with a plan, 1 when no plan exists (infeasible: the message says why), 2 on bad input.',
  ].join('\n'),
  examples: [
    'brixlet optimize --profile a100.json --profile a40.json --workload w.json',
    'brixlet optimize --profile a10.json --profile l20.json --workload w.json --available a10=4,l20=8 --headroom 0.9 --json',
    'brixlet optimize --profile a100.json --profile a40.json --workload w.json --model slice --cost a100=0.5 --compare',
    'brixlet optimize keda --control http://brixlet-coordinator.brixlet:8081 --namespace llm --deployment llama-a10,llama-l20 | kubectl apply -f -',
  ],
  subcommands: [{ name: 'keda', summary: 'Print a KEDA ScaledObject per --deployment that scales it on the running coordinator\'s plan (--control URL).' }],
  configSections: [],
  options: [
    { name: 'profile', type: 'string', valueName: 'FILE', repeatable: true, description: 'A GPU profile (AIBrix JSON); give one per GPU type.' },
    { name: 'workload', type: 'string', valueName: 'FILE', description: 'The workload: {"rate": RPS, "cells": [{"output", "input", "share"}, ...]}.' },
    { name: 'model', type: 'string', valueName: 'split|slice', description: 'Formulation (default split).' },
    { name: 'available', type: 'string', valueName: 'T=N,...', description: 'Most GPUs of each type that exist (availability caps).' },
    { name: 'min', type: 'string', valueName: 'T=N,...', description: 'Fewest GPUs of each type.' },
    { name: 'current', type: 'string', valueName: 'T=N,...', description: 'GPUs running now, for --switching-cost.' },
    { name: 'cost', type: 'string', valueName: 'T=X,...', description: 'Prices per GPU that replace the profiles\' costs.' },
    { name: 'total-max', type: 'string', valueName: 'N', description: 'Most GPUs over all types.' },
    { name: 'headroom', type: 'string', valueName: 'R', description: 'Use at most this fraction of each GPU\'s profiled rate, in (0, 1] (default 1).' },
    { name: 'switching-cost', type: 'string', valueName: 'X', description: 'Cost per GPU added or removed against --current (default 0).' },
    { name: 'slice-factor', type: 'string', valueName: 'N', description: 'slice model: slices per request shape (default 4, as AIBrix).' },
    { name: 'time-limit', type: 'string', valueName: 'MS', description: 'Solver time limit in ms (default 10000); then the best plan found.' },
    { name: 'compare', type: 'boolean', description: 'Also solve AIBrix\'s pipeline and the best single GPU type.' },
    ...KEDA_OPTIONS,
    JSON_OPTION,
  ],
  async run(ctx) {
    const sub = ctx.args.positionals[0];
    if (sub === 'keda') return runOptimizeKeda(ctx);
    if (sub !== undefined) throw usage(`unknown subcommand '${sub}' (brixlet optimize [keda])`);
    const files = ctx.args.repeated?.profile ?? [];
    if (files.length === 0) throw usage('\'brixlet optimize\' needs --profile FILE (one per GPU type)');
    const workloadFile = stringOption(ctx.args, 'workload');
    if (workloadFile === undefined) throw usage('\'brixlet optimize\' needs --workload FILE');
    const model = (stringOption(ctx.args, 'model') ?? 'split') as PlanModel;
    if (!MODELS.includes(model)) throw usage(`--model must be ${MODELS.join(' or ')}, got '${model}'`);

    const warnings: string[] = [];
    const profiles: ServingProfile[] = [];
    for (const file of files) {
      const parsed = parseProfile(await readLimited(file, PROFILE_MAX_BYTES, 'BRX_ERR_OPTIMIZER_PROFILE'), file);
      warnings.push(...parsed.warnings);
      profiles.push(parsed.profile);
    }
    const first = profiles[0] as ServingProfile;
    const workload = parseWorkload(await readLimited(workloadFile, WORKLOAD_MAX_BYTES, 'BRX_ERR_OPTIMIZER_WORKLOAD'), first.grid, workloadFile);
    const problem = problemFromProfiles(profiles, workload, {
      model,
      max: table(ctx, 'available', 'count'),
      min: table(ctx, 'min', 'count'),
      current: table(ctx, 'current', 'count'),
      cost: table(ctx, 'cost', 'price'),
      extra: {
        ...opt('totalMax', number(ctx, 'total-max', 'count')),
        ...opt('headroom', number(ctx, 'headroom', 'price')),
        ...opt('switchingCost', number(ctx, 'switching-cost', 'price')),
        ...opt('sliceFactor', number(ctx, 'slice-factor', 'count')),
        ...opt('timeLimitMs', number(ctx, 'time-limit', 'price')),
      },
    });
    const plan = await solvePlan(problem);
    const comparison = ctx.args.options.compare === true ? await compare(problem) : undefined;
    const out = report(problem, plan, workload.clamped, warnings, comparison);
    if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else ctx.io.stdout.write(renderTable(ctx, problem, plan, out));
    return plan.status === 'optimal' || (plan.status === 'time-limit' && Object.keys(plan.counts).length > 0) ? 0 : 1;
  },
};

const opt = <K extends string>(key: K, v: number | undefined) => (v === undefined ? {} : ({ [key]: v } as Record<K, number>));

async function readLimited(path: string, limit: number, code: ErrorCode): Promise<string> {
  const fail = (reason: string) => new BrixletError(code, { source: path, reason });
  try {
    const st = await stat(path);
    if (!st.isFile()) throw fail('not a regular file');
    if (st.size > limit) throw fail(`larger than ${limit} bytes`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof BrixletError) throw err;
    throw fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function parseValue(flag: string, text: string, kind: 'count' | 'price'): number {
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && v >= 0 && (kind === 'price' || Number.isInteger(v));
  if (!ok) throw usage(`--${flag}: '${text}' is not ${kind === 'count' ? 'a whole number >= 0' : 'a number >= 0'}`);
  return v;
}

function number(ctx: CommandContext, flag: string, kind: 'count' | 'price'): number | undefined {
  const text = stringOption(ctx.args, flag);
  return text === undefined ? undefined : parseValue(flag, text, kind);
}

/** `a10=4,l20=8` → { a10: 4, l20: 8 }. */
function table(ctx: CommandContext, flag: string, kind: 'count' | 'price'): Record<string, number> | undefined {
  const text = stringOption(ctx.args, flag);
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const pair of text.split(',')) {
    const eq = pair.lastIndexOf('=');
    if (eq <= 0) throw usage(`--${flag}: '${pair}' is not TYPE=VALUE (e.g. --${flag} a10=4,l20=8)`);
    out[pair.slice(0, eq).trim()] = parseValue(flag, pair.slice(eq + 1), kind);
  }
  return out;
}

interface Comparison {
  readonly aibrix: { readonly status: string; readonly counts: Record<string, number>; readonly cost: number; readonly units: Record<string, number> };
  readonly bestSingle?: { readonly type: string; readonly count: number; readonly cost: number };
}

async function compare(problem: PlanProblem): Promise<Comparison> {
  const aibrix = await aibrixPipeline(problem);
  let bestSingle: Comparison['bestSingle'];
  for (const t of problem.types) {
    const sol = await solvePlan({ ...problem, types: [t], totalMax: undefined, switchingCost: 0 });
    if (sol.status !== 'optimal') continue;
    if (bestSingle === undefined || sol.cost < bestSingle.cost) bestSingle = { type: t.name, count: sol.counts[t.name] ?? 0, cost: sol.cost };
  }
  return {
    aibrix: { status: aibrix.status, counts: { ...aibrix.counts }, cost: aibrix.cost, units: { ...aibrix.units } },
    ...(bestSingle === undefined ? {} : { bestSingle }),
  };
}

function report(problem: PlanProblem, plan: PlanSolution, clamped: readonly string[], warnings: readonly string[], comparison?: Comparison) {
  const inputs = problem.grid.inputs.length;
  return {
    status: plan.status,
    model: problem.model,
    counts: plan.counts,
    cost: plan.cost,
    solveMs: Math.round(plan.solveMs * 100) / 100,
    ...(plan.message === undefined ? {} : { message: plan.message }),
    split: plan.split.map(({ cell, shares }) => ({
      output: problem.grid.outputs[Math.floor(cell / inputs)],
      input: problem.grid.inputs[cell % inputs],
      share: problem.load.shares[cell],
      types: shares,
    })),
    clamped,
    warnings,
    ...(comparison === undefined ? {} : { compare: comparison }),
  };
}

const fmt = (v: number) => String(Math.round(v * 1e4) / 1e4);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function renderTable(ctx: CommandContext, problem: PlanProblem, plan: PlanSolution, out: ReturnType<typeof report>): string {
  const st = ctx.out;
  const lines: string[] = [];
  const head = `${st.bold('plan')}: ${plan.status} (${problem.model} model), solved in ${plan.solveMs.toFixed(1)} ms`;
  lines.push(head);
  if (plan.message !== undefined) lines.push(`  ${plan.status === 'optimal' ? plan.message : st.red(plan.message)}`);
  if (Object.keys(plan.counts).length > 0) {
    const w = Math.max(8, ...problem.types.map((t) => t.name.length)) + 2;
    lines.push('', `${'GPU type'.padEnd(w)}${'GPUs'.padStart(6)}${'price'.padStart(10)}${'cost'.padStart(10)}`);
    let total = 0;
    for (const t of problem.types) {
      const n = plan.counts[t.name] ?? 0;
      total += n;
      lines.push(`${t.name.padEnd(w)}${String(n).padStart(6)}${fmt(t.cost).padStart(10)}${fmt(n * t.cost).padStart(10)}`);
    }
    lines.push(`${'total'.padEnd(w)}${String(total).padStart(6)}${''.padStart(10)}${fmt(plan.cost).padStart(10)}`);
    if (plan.split.length > 0) {
      lines.push('', 'split of each loaded request shape over GPU types:');
      for (const { cell, shares } of plan.split) {
        const parts = Object.entries(shares).map(([name, z]) => `${name} ${pct(z)}`);
        lines.push(`  ${cellName(problem.grid, cell).padEnd(26)} ${pct(problem.load.shares[cell] as number).padStart(6)} of load  → ${parts.join(', ')}`);
      }
    }
  }
  if (out.compare !== undefined) {
    const c = out.compare;
    const saving = (other: number) => (other > 0 ? ` (this plan: ${pct((other - plan.cost) / other)} cheaper)` : '');
    lines.push('', 'compared with:');
    const units = Object.entries(c.aibrix.units).map(([n, u]) => `${n}=${u}`).join(', ');
    const gpus = Object.entries(c.aibrix.counts).map(([n, u]) => `${n}=${u}`).join(', ');
    lines.push(`  AIBrix pipeline (1/100 GPUs ${units} → ${gpus}): cost ${fmt(c.aibrix.cost)}${saving(c.aibrix.cost)}`);
    if (c.bestSingle !== undefined) lines.push(`  best single type: ${c.bestSingle.count} × ${c.bestSingle.type}, cost ${fmt(c.bestSingle.cost)}${saving(c.bestSingle.cost)}`);
  }
  for (const c of out.clamped) lines.push(st.dim(`clamped: ${c}`));
  for (const wline of out.warnings) lines.push(st.dim(`warning: ${wline}`));
  return `${lines.join('\n')}\n`;
}
