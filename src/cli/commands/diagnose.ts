/**
 * `brixlet diagnose`: checks this node's accelerators and recommends an action per problem. Probes
 * the local libraries itself, or asks a running agent with --agent. Exit 0 = nothing failed
 * (warnings allowed), 1 = at least one check failed, 2 = the diagnosis could not run.
 */
import { usage } from '../args.js';
import { hostname } from 'node:os';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Value } from '@sinclair/typebox/value';
import { DiagnoseReport } from '../../accel/diagnose/diagnose-report.js';
import { runDiagnose } from '../../accel/diagnose/run-diagnose.js';
import { parseXidList } from '../../accel/health.js';
import type { AccelSnapshot } from '../../accel/types.js';
import { parseDuration } from '../../common/config/coerce.js';
import { BrixletError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { type Command, type CommandContext, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { renderDiagnoseTable } from './diagnose-table.js';

const MAX_WINDOW_MS = 30_000;
/** How long --agent waits beyond the window for the agent to answer. */
const AGENT_GRACE_MS = 15_000;

export const diagnoseCommand: Command = {
  name: 'diagnose',
  summary: 'Check the node\'s GPUs/NPUs and recommend an action for each problem',
  usage: 'brixlet diagnose [--level 1|2] [--window 2s] [--json] [--expected-count N] [--accel auto|nvml|dcmi|sim:<scenario>] [--agent URL]',
  description: [
    'Runs the accelerator checks (driver/init, device count, PCIe generation, width and replays, ECC,',
    'retired pages / remapped rows, NVLink, temperature, power and power brake, clock-event reasons,',
    'recovery action, XIDs; Ascend health, fault codes, HBM ECC, network) and prints one row per',
    'check and device with its status, recommended action, observed and expected values.',
    '',
    'Level 1 reads every device once. Level 2 reads twice, --window apart (default 2s, at most 30s),',
    'and judges counters by how much they rose (PCIe replays, ECC, NVLink errors) and marks new XIDs.',
    'Without --agent the command opens the vendor libraries itself (--accel, default auto); it only',
    'sees XIDs raised while it runs. With --agent URL it asks a running agent (GET /v1/diagnose),',
    'which has seen every XID since it started.',
    '',
    'Exit status: 0 when no check failed (warnings and skips do not fail the run), 1 when at least',
    'one check failed, 2 when the diagnosis could not run (bad flags, agent unreachable).',
  ].join('\n'),
  examples: [
    'brixlet diagnose',
    'brixlet diagnose --level 2 --window 5s --expected-count 8',
    'brixlet diagnose --accel sim:ecc-dbe-xid48 --json',
    'brixlet diagnose --agent http://gpu-node-1:9464',
  ],
  configSections: ['log', 'accel', 'nvml', 'dcmi'],
  options: [
    { name: 'level', type: 'string', valueName: '1|2', description: '1: read once (default); 2: read twice, --window apart, and compare.' },
    { name: 'window', type: 'string', valueName: 'DURATION', description: 'Level 2: time between the two reads, e.g. 500ms, 2s (default 2s, max 30s).' },
    { name: 'expected-count', type: 'string', valueName: 'N', description: 'Devices the node should have (same as --accel.expected-count; 0 = do not check).' },
    { name: 'agent', type: 'string', valueName: 'URL', description: 'Ask the agent at URL (e.g. http://node:9464) instead of opening the libraries.' },
    { name: 'problems', type: 'boolean', description: 'Show only rows that did not pass.' },
    JSON_OPTION,
    CONFIG_OPTION,
  ],
  async run(ctx) {
    const opts = parseOptions(ctx);
    const report = opts.agent === undefined ? await diagnoseLocally(ctx, opts) : await diagnoseViaAgent(opts.agent, opts);
    if (ctx.args.options.json === true) ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else ctx.io.stdout.write(renderDiagnoseTable(report, ctx.out, { problemsOnly: ctx.args.options.problems === true }));
    return report.summary.fail > 0 ? 1 : 0;
  },
};

interface DiagnoseOptions {
  readonly level: 1 | 2;
  readonly windowMs: number;
  readonly expectedCount: number | undefined;
  readonly agent: string | undefined;
}


function parseOptions(ctx: CommandContext): DiagnoseOptions {
  const o = ctx.args.options;
  const str = (name: string) => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
  const levelText = str('level') ?? '1';
  if (levelText !== '1' && levelText !== '2') throw usage(`--level must be 1 or 2, got '${levelText}'`);
  const windowText = str('window');
  const windowMs = windowText === undefined ? 2000 : parseDuration(windowText);
  if (windowMs === undefined || windowMs < 100 || windowMs > MAX_WINDOW_MS) throw usage(`--window must be a duration from 100ms to 30s (e.g. 2s), got '${windowText}'`);
  const countText = str('expected-count');
  const expectedCount = countText === undefined ? undefined : Number(countText);
  if (expectedCount !== undefined && (!Number.isInteger(expectedCount) || expectedCount < 0 || expectedCount > 1024)) {
    throw usage(`--expected-count must be an integer from 0 to 1024, got '${countText}'`);
  }
  return { level: levelText === '2' ? 2 : 1, windowMs, expectedCount, agent: str('agent') };
}

async function diagnoseLocally(ctx: CommandContext, opts: DiagnoseOptions): Promise<DiagnoseReport> {
  const { config, sources } = ctx.loadConfig();
  // A one-shot tool: keep stderr for warnings unless the user asked for more.
  const log = createLogger({ level: sources['log.level'] === 'default' ? 'warn' : config.log.level, format: config.log.format, stream: ctx.io.stderr });
  const xidIgnore = parseXidList(config.accel.xidIgnore);
  // Loaded on demand: the vendor backends pull in koffi, which other commands never need.
  const [{ openBackends }, { Sampler }, { PROBES }] = await Promise.all([import('../../accel/select.js'), import('../../accel/sampler.js'), import('../../accel/probes/index.js')]);
  const backends = await openBackends(config.accel.backend, { nvmlLibrary: config.nvml.library, dcmiLibrary: config.dcmi.library, log, env: ctx.io.env as NodeJS.ProcessEnv, callTimeoutMs: config.accel.callTimeout });
  const sampler = new Sampler({ backends, probes: PROBES, intervalMs: config.accel.sampleInterval, node: hostname(), log, xidIgnore });
  try {
    // Events queued when the libraries opened (a scenario's XIDs) are delivered on the next turn.
    await nextTurn();
    const first = await sampler.sampleNow();
    let later: AccelSnapshot | undefined;
    if (opts.level === 2) {
      await sleep(opts.windowMs);
      later = await sampler.sampleNow();
    }
    return runDiagnose({ level: opts.level, snapshot: first, later, expectedCount: opts.expectedCount ?? config.accel.expectedCount, xidIgnore });
  } finally {
    await sampler.dispose();
  }
}

async function diagnoseViaAgent(agent: string, opts: DiagnoseOptions): Promise<DiagnoseReport> {
  let url: URL;
  try {
    url = new URL('v1/diagnose', agent.endsWith('/') ? agent : `${agent}/`);
  } catch {
    throw usage(`--agent must be a URL such as http://gpu-node-1:9464, got '${agent}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--agent must be an http(s) URL, got '${agent}'`);
  url.searchParams.set('level', String(opts.level));
  if (opts.level === 2) url.searchParams.set('window', String(opts.windowMs));
  if (opts.expectedCount !== undefined) url.searchParams.set('expectedCount', String(opts.expectedCount));
  const failed = (reason: string, cause?: unknown) => new BrixletError('BRX_ERR_DIAGNOSE_AGENT', { url: url.href, reason }, { cause });

  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout((opts.level === 2 ? opts.windowMs : 0) + AGENT_GRACE_MS), headers: { accept: 'application/json' } });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw failed(e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.message), err);
  }
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw failed(`HTTP ${res.status}, not JSON${text ? `: ${text.slice(0, 120)}` : ''}`);
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } }).error;
    throw failed(`HTTP ${res.status}${err?.message ? `: ${err.message}` : ''}${err?.code ? ` [${err.code}]` : ''}`);
  }
  if (!Value.Check(DiagnoseReport, body)) throw failed('the answer is not a diagnose report (is this a brixlet agent of the same version?)');
  return body;
}
