/**
 * `brixlet profile`: measures one GPU type serving one model — input × output tokens × request
 * rate against any OpenAI-compatible endpoint — and writes AIBrix's profile JSON for the GPU
 * optimizer (src/coordinator/optimizer/profiler.ts does the work).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AIBRIX_RATES, AIBRIX_TICKS, type ProfileJson, runProfiler, type ProfilerOptions } from '../../coordinator/optimizer/profiler.js';
import { parseSloBounds, type SloStatistic } from '../../coordinator/optimizer/profile-cell.js';
import { stringOption, usage } from '../args.js';
import type { Command, ParsedArgs } from '../types.js';
import { createProgress } from './profile-progress.js';

const MAX_TICKS = 64;
const MAX_RATES = 32;

export const profileCommand: Command = {
  name: 'profile',
  summary: 'Measure a GPU type against an OpenAI-compatible endpoint and write its optimizer profile',
  usage:
    'brixlet profile --endpoint URL --model M --gpu T --cost C --slo e2e=S[,ttft=S][,tpot=S] [--percentile mean|50|90|99] [--out P.json] [--inputs A,B…] [--outputs A,B…] [--rates A,B…] [--requests N] [--point-seconds S] [--timeout S] [--api completions|chat] [--no-stream] [--arrivals poisson|uniform] [--seed N] [--time-scale X] [--full-sweep] [--rows R.jsonl] [--api-key KEY]',
  description: [
    'Sweeps every (input tokens, output tokens) cell at each request rate against --endpoint (vLLM,',
    '`brixlet mock-engine`, any OpenAI-compatible server), measuring TTFT, TPOT, E2E and the achieved',
    'throughput (completed / (first send → last completion − the cell\'s unloaded E2E): vLLM\'s',
    'benchmark_serving measure without its bias of one service time per point), then',
    'applies AIBrix\'s cell rule: among the rates whose latencies are below every --slo bound at',
    '--percentile (default the mean), keep those not saturated (throughput ≥ 0.9 × the offered rate)',
    'and take the largest; if all are saturated, the smallest; the cell is the throughput measured',
    'there, and 0 when no rate meets the SLO. Rates above one that misses the SLO or saturates are',
    'skipped (--full-sweep measures them). Writes AIBrix\'s profile JSON (gpu, cost, tputs, indexes,',
    'created, e2e, ttft, tpot, slos) that `brixlet optimize` and the coordinator read.',
    '',
    'Requests: /v1/completions with random token-id prompts of exactly the input length (no shared',
    'prefixes), max_tokens = the output length with ignore_eos, streamed with usage; --api chat',
    'sends text of one short word per token instead. Each point sends --requests requests (at',
    'least --point-seconds × rate) with seeded Poisson arrivals; requests open --timeout seconds',
    'after the last send are cut off and fail the point. --time-scale X profiles a mock engine run',
    'with the same --time-scale: rates are sent X times faster and latencies converted back.',
    '',
    `Defaults (AIBrix's benchmark.sh): inputs and outputs ${AIBRIX_TICKS.join(',')}; rates ${AIBRIX_RATES.join(',')};`,
    '100 requests per point. Progress goes to stderr (one redrawn line on a terminal).',
  ].join('\n'),
  examples: [
    'brixlet profile --endpoint http://localhost:8000 --model meta-llama/Llama-3.1-8B-Instruct --gpu l20 --cost 1.2 --slo e2e=5 --percentile 99 --out l20.json',
    'brixlet mock-engine --gpu a10 --time-scale 20 --port 8100 &  brixlet profile --endpoint http://127.0.0.1:8100 --model mock-llama-3-8b --gpu a10 --cost 0.75 --slo e2e=10 --time-scale 20 --inputs 128,512,2048 --outputs 16,64,256 --out a10.json',
  ],
  configSections: [],
  options: [
    { name: 'endpoint', type: 'string', valueName: 'URL', description: 'Base URL of the OpenAI-compatible server (http://host:port; a trailing /v1 is fine).' },
    { name: 'model', type: 'string', valueName: 'M', description: 'Model name as the server lists it in /v1/models.' },
    { name: 'gpu', type: 'string', valueName: 'T', description: 'GPU type (deployment) the profile is for; its `gpu` field.' },
    { name: 'cost', type: 'string', valueName: 'C', description: 'Cost per GPU per time unit (e.g. $/hour), >= 0.' },
    { name: 'slo', type: 'string', valueName: 'e2e=S,…', description: 'Latency bounds in seconds (ms suffix allowed): any of e2e, ttft, tpot.' },
    { name: 'percentile', type: 'string', valueName: 'P', description: 'Statistic held to the bounds: mean (default), 50, 90 or 99.' },
    { name: 'out', type: 'string', valueName: 'P.json', description: 'Write the profile here (default: stdout).' },
    { name: 'inputs', type: 'string', valueName: 'A,B…', description: 'Input-token ticks (default 4..4096, doubling).' },
    { name: 'outputs', type: 'string', valueName: 'A,B…', description: 'Output-token ticks (default 4..4096, doubling).' },
    { name: 'rates', type: 'string', valueName: 'A,B…', description: 'Request rates in req/s (default 1,2,4,…,64).' },
    { name: 'requests', type: 'string', valueName: 'N', description: 'Requests per point (default 100).' },
    { name: 'point-seconds', type: 'string', valueName: 'S', description: 'Seconds of arrivals per point at the least (default 0).' },
    { name: 'timeout', type: 'string', valueName: 'S', description: 'Seconds after a point\'s last send before open requests are cut off (default 60).' },
    { name: 'api', type: 'string', valueName: 'A', description: 'completions (token-id prompts, default) or chat.' },
    { name: 'no-stream', type: 'boolean', description: 'Do not stream: E2E only (no TTFT/TPOT).' },
    { name: 'arrivals', type: 'string', valueName: 'A', description: 'poisson (default) or uniform.' },
    { name: 'seed', type: 'string', valueName: 'N', description: 'Seed of arrivals and prompts (default 0).' },
    { name: 'time-scale', type: 'string', valueName: 'X', description: 'The endpoint\'s model time per wall time (a mock engine\'s --time-scale; default 1).' },
    { name: 'full-sweep', type: 'boolean', description: 'Measure every rate, also above one that missed the SLO or saturated.' },
    { name: 'rows', type: 'string', valueName: 'R.jsonl', description: 'Also write every measured point as a JSON line.' },
    { name: 'api-key', type: 'string', valueName: 'KEY', description: 'Bearer token for the endpoint.' },
  ],
  async run(ctx) {
    const opts = parseProfileArgs(ctx.args);
    const progress = createProgress(ctx.io.stderr);
    const ac = new AbortController();
    const onSignal = (): void => ac.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    let result;
    try {
      result = await runProfiler({ ...opts.profiler, signal: ac.signal, onProgress: (p) => progress.update(p) });
    } finally {
      progress.end();
      process.off('SIGINT', onSignal);
    }
    const text = `${JSON.stringify(result.profile)}\n`;
    if (opts.rows !== undefined) writeAtomic(opts.rows, result.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    if (opts.out === undefined) {
      ctx.io.stdout.write(text);
    } else {
      writeAtomic(opts.out, text);
      ctx.io.stdout.write(renderProfileTable(result.profile));
      ctx.io.stdout.write(`wrote ${opts.out} (${result.rows.length} points measured)\n`);
    }
    return 0;
  },
};

function writeAtomic(path: string, text: string): void {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, abs);
}

/** The throughput table, rows = output tokens, columns = input tokens. */
export function renderProfileTable(p: ProfileJson): string {
  const [outs, ins] = p.indexes;
  const cell = (x: number): string => (x === 0 ? '0' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const lines = [`${p.gpu}: max req/s per GPU within the SLO (${Object.entries(p.slos).map(([k, v]) => `${k} ${v}`).join(', ')}); rows out tokens, columns in tokens`];
  lines.push(['out\\in', ...ins.map(String)].map((s) => s.padStart(8)).join(''));
  for (const [o, out] of outs.entries()) lines.push([String(out), ...(p.tputs[o] ?? []).map(cell)].map((s) => s.padStart(8)).join(''));
  return `${lines.join('\n')}\n`;
}

export interface ProfileArgs {
  readonly profiler: Omit<ProfilerOptions, 'signal' | 'onProgress'>;
  readonly out: string | undefined;
  readonly rows: string | undefined;
}

/** The command's flags, every one checked before anything is sent (BRX_ERR_CLI_USAGE naming the fix). */
export function parseProfileArgs(args: ParsedArgs): ProfileArgs {
  const required = (name: string, example: string): string => {
    const v = stringOption(args, name);
    if (v === undefined || v.trim() === '') throw usage(`--${name} is required (e.g. --${name} ${example})`);
    return v.trim();
  };
  const number = (name: string, dflt: number, ok: (x: number) => boolean, what: string): number => {
    const raw = stringOption(args, name);
    if (raw === undefined) return dflt;
    const x = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(x) || !ok(x)) throw usage(`--${name} must be ${what}, got '${raw}'`);
    return x;
  };
  const list = (name: string, dflt: readonly number[], max: number, integer: boolean): number[] => {
    const raw = stringOption(args, name);
    if (raw === undefined) return [...dflt];
    const items = raw.split(',').map((s) => s.trim());
    const xs = items.map(Number);
    if (items.some((s) => s === '') || xs.some((x) => !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x)))) {
      throw usage(`--${name} must be a comma-separated list of positive ${integer ? 'whole numbers' : 'numbers'}, got '${raw}'`);
    }
    if (new Set(xs).size !== xs.length) throw usage(`--${name} lists a value twice: '${raw}'`);
    if (xs.length > max) throw usage(`--${name} takes at most ${max} values, got ${xs.length}`);
    return xs.sort((a, b) => a - b);
  };
  const endpoint = required('endpoint', 'http://localhost:8000');
  const model = required('model', 'meta-llama/Llama-3.1-8B-Instruct');
  const gpu = required('gpu', 'l20');
  const cost = number('cost', NaN, (x) => x >= 0, 'a number >= 0 (cost per GPU per time unit)');
  if (Number.isNaN(cost)) throw usage('--cost is required (e.g. --cost 1.2: cost per GPU per hour)');
  let bounds;
  try {
    bounds = parseSloBounds(required('slo', 'e2e=5,ttft=0.5'));
  } catch (err) {
    throw usage(`--slo: ${(err as Error).message}`);
  }
  const pRaw = (stringOption(args, 'percentile') ?? 'mean').trim().toLowerCase().replace(/^p/, '');
  if (!['mean', 'avg', '50', '90', '99'].includes(pRaw)) throw usage(`--percentile must be mean, 50, 90 or 99, got '${stringOption(args, 'percentile')}'`);
  const statistic: SloStatistic = pRaw === 'mean' || pRaw === 'avg' ? 'mean' : (Number(pRaw) as 50 | 90 | 99);
  const api = stringOption(args, 'api') ?? 'completions';
  if (api !== 'completions' && api !== 'chat') throw usage(`--api must be completions or chat, got '${api}'`);
  const arrivals = stringOption(args, 'arrivals') ?? 'poisson';
  if (arrivals !== 'poisson' && arrivals !== 'uniform') throw usage(`--arrivals must be poisson or uniform, got '${arrivals}'`);
  const apiKey = stringOption(args, 'api-key');
  return {
    profiler: {
      endpoint,
      model,
      gpu,
      cost,
      slo: { ...bounds, statistic },
      inputs: list('inputs', AIBRIX_TICKS, MAX_TICKS, true),
      outputs: list('outputs', AIBRIX_TICKS, MAX_TICKS, true),
      rates: list('rates', AIBRIX_RATES, MAX_RATES, false),
      requests: number('requests', 100, (x) => Number.isInteger(x) && x >= 1 && x <= 100_000, 'a whole number from 1 to 100000'),
      pointSeconds: number('point-seconds', 0, (x) => x >= 0 && x <= 3600, 'seconds from 0 to 3600'),
      pointTimeoutS: number('timeout', 60, (x) => x > 0 && x <= 3600, 'seconds above 0, at most 3600'),
      api,
      stream: args.options['no-stream'] !== true,
      arrivals,
      seed: number('seed', 0, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 31, 'a whole number from 0'),
      timeScale: number('time-scale', 1, (x) => x > 0 && x <= 1000, 'a number above 0, at most 1000'),
      fullSweep: args.options['full-sweep'] === true,
      ...(apiKey !== undefined && { apiKey }),
    },
    out: stringOption(args, 'out'),
    rows: stringOption(args, 'rows'),
  };
}
