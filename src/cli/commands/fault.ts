/**
 * `brixlet fault`: drives a running agent's fault-injection API (--faults.enabled) — list, add,
 * preset, import, delete, reset, trace. Exit 0 when the agent did it, 1 when the agent refused
 * (bad rule, unknown preset, wrong token …), 2 when the command could not run (usage, unreachable).
 */
import { usage, stringOption } from '../args.js';
import { readFile } from 'node:fs/promises';
import type { Static } from '@sinclair/typebox';
import type { FaultRuleList, FaultRuleView, ImportResult, PresetList, RemovedRule, ResetResult, TraceList } from '../../agent/fault-schemas.js';
import { codes } from '../../common/errors.js';
import { type Command, type CommandContext, JSON_OPTION } from '../types.js';
import { createFaultClient, type FaultClient, type FaultReply, readTokenFile } from './fault-client.js';
import { renderPresets, renderRuleAdded, renderRules, renderTrace } from './fault-table.js';

const SUBCOMMANDS = ['list', 'add', 'preset', 'import', 'delete', 'reset', 'trace'] as const;

export const faultCommand: Command = {
  name: 'fault',
  summary: 'Inject accelerator faults into a running agent (failure mock-up)',
  usage: 'brixlet fault <list|add|preset|import|delete|reset|trace> --agent URL --token-file FILE [--json]',
  description: [
    'Talks to the /v1/faults API of an agent started with fault injection on (the agent\'s',
    'faults.enabled and faults.token-file settings); every request carries that token. Rules make the agent\'s NVML/DCMI reads fail, return other',
    'values or deliver XIDs, per device; they expire after their TTL (default 10 min).',
    '',
    '  list                       active rules with their trigger state',
    '  add [FILE] [--rule JSON]   add a rule given as JSON (docs/fault-injection.md lists the keys)',
    '  preset [NAME]              apply a preset to --device N or --uuid U (no NAME: list presets);',
    '                             --param k=v[,k=v] sets its parameters (code=12, links=0;1, tempC=97)',
    '  import FILE                import an AIBrix gpu_mock_conf.toml (0.1.0 or 0.2.0)',
    '  delete ID                  remove one rule',
    '  reset                      remove every rule',
    '  trace [--limit N]          the last rule evaluations',
    '',
    'Exit status: 0 done, 1 the agent refused (its error code is printed), 2 bad usage or no agent.',
  ].join('\n'),
  examples: [
    'brixlet fault preset gpu-lost --device 3 --agent http://localhost:9464 --token-file token',
    'brixlet fault add --rule \'{"target":{"device":1},"what":{"api":"nvmlDeviceGetTemperature"},"effect":{"return":"GPU_IS_LOST"}}\' --agent URL --token-file token',
    'brixlet fault import gpu_mock_conf.toml --agent URL --token-file token',
    'brixlet fault list --agent URL --token-file token --json',
    'brixlet fault reset --agent URL --token-file token',
  ],
  subcommands: [
    { name: 'list', summary: 'List active fault rules' },
    { name: 'add', summary: 'Add a rule from --rule JSON or a JSON file' },
    { name: 'preset', summary: 'Apply a preset to a device (no name: list presets)' },
    { name: 'import', summary: 'Import an AIBrix gpu_mock_conf.toml' },
    { name: 'delete', summary: 'Remove one rule by id' },
    { name: 'reset', summary: 'Remove every rule' },
    { name: 'trace', summary: 'Show the last rule evaluations' },
  ],
  configSections: [],
  options: [
    { name: 'agent', type: 'string', valueName: 'URL', description: 'The agent, e.g. http://gpu-node-1:9464 (required).' },
    { name: 'token-file', type: 'string', valueName: 'FILE', description: 'File holding the agent\'s fault API token (required).' },
    { name: 'rule', type: 'string', valueName: 'JSON', description: 'add: the rule as JSON.' },
    { name: 'device', type: 'string', valueName: 'N|*', description: 'preset: device index (NVML index, Ascend logic id) or * for every device.' },
    { name: 'uuid', type: 'string', valueName: 'UUID', description: 'preset: the device by UUID.' },
    { name: 'param', type: 'string', valueName: 'K=V[,K=V]', description: 'preset: parameters, e.g. code=12 or links=0;1.' },
    { name: 'ttl', type: 'string', valueName: 'MS', description: 'add/preset: time to live in milliseconds (default 600000).' },
    { name: 'limit', type: 'string', valueName: 'N', description: 'trace: how many evaluations (default 50).' },
    JSON_OPTION,
  ],
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usage(`${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet fault'; valid: ${SUBCOMMANDS.join(', ')}`);
    }
    const maxArgs = sub === 'add' || sub === 'preset' || sub === 'import' || sub === 'delete' ? 1 : 0;
    if (rest.length > maxArgs) throw usage(`'brixlet fault ${sub}' takes ${maxArgs === 0 ? 'no arguments' : 'one argument'}, got '${rest.join(' ')}'`);
    const agent = str(ctx, 'agent');
    if (agent === undefined) throw usage('--agent URL is required: an agent started with fault injection enabled');
    const client = createFaultClient(agent, await readTokenFile(str(ctx, 'token-file')));
    return SUBCOMMAND_RUN[sub as (typeof SUBCOMMANDS)[number]](ctx, client, rest[0]);
  },
};

type Run = (ctx: CommandContext, client: FaultClient, arg: string | undefined) => Promise<number>;

const SUBCOMMAND_RUN: Record<(typeof SUBCOMMANDS)[number], Run> = {
  async list(ctx, client) {
    return answer(ctx, await client.request<Static<typeof FaultRuleList>>('GET', '/v1/faults'), (b) => renderRules(b.rules, ctx.out));
  },
  async add(ctx, client, file) {
    const text = str(ctx, 'rule') ?? (file !== undefined ? await readText(file) : undefined);
    if (text === undefined) throw usage('give the rule as --rule JSON or a JSON file: brixlet fault add rule.json');
    let rule: unknown;
    try {
      rule = JSON.parse(text);
    } catch (err) {
      throw usage(`the rule is not JSON: ${(err as Error).message}`);
    }
    const ttl = int(ctx, 'ttl', 1);
    if (ttl !== undefined && typeof rule === 'object' && rule !== null) rule = { ...rule, ttlMs: ttl };
    return answer(ctx, await client.request<Static<typeof FaultRuleView>>('POST', '/v1/faults', { json: rule }), (r) => renderRuleAdded(r));
  },
  async preset(ctx, client, name) {
    if (name === undefined) return answer(ctx, await client.request<Static<typeof PresetList>>('GET', '/v1/faults/presets'), (b) => renderPresets(b.presets, ctx.out));
    const device = str(ctx, 'device');
    const uuid = str(ctx, 'uuid');
    const target: Record<string, unknown> = {};
    if (device !== undefined) target.device = device === '*' ? '*' : intText(device, '--device', 0);
    if (uuid !== undefined) target.uuid = uuid;
    const ttl = int(ctx, 'ttl', 1);
    const params = parseParams(str(ctx, 'param'));
    const body = { target, ...(params !== undefined && { params }), ...(ttl !== undefined && { ttlMs: ttl }) };
    return answer(ctx, await client.request<Static<typeof FaultRuleView>>('POST', `/v1/faults/presets/${encodeURIComponent(name)}`, { json: body }), (r) => renderRuleAdded(r));
  },
  async import(ctx, client, file) {
    if (file === undefined) throw usage('give the AIBrix TOML file: brixlet fault import gpu_mock_conf.toml');
    const toml = await readText(file);
    return answer(ctx, await client.request<Static<typeof ImportResult>>('POST', '/v1/faults/import', { toml }), (b) => {
      const head = `imported ${b.added.length} rule(s) from ${file}${b.version !== undefined ? ` (version ${b.version})` : ''}`;
      const problems = b.problems.map((p) => `  ${ctx.out.bold('!')} ${p.key}: ${p.message}`);
      return [head + (problems.length > 0 ? `; ${problems.length} key(s) not imported:` : ''), ...problems].join('\n') + '\n';
    });
  },
  async delete(ctx, client, id) {
    if (id === undefined) throw usage('give the rule id: brixlet fault delete ID (see brixlet fault list)');
    return answer(ctx, await client.request<Static<typeof RemovedRule>>('DELETE', `/v1/faults/${encodeURIComponent(id)}`), (b) => `removed ${b.removed.id}\n`);
  },
  async reset(ctx, client) {
    return answer(ctx, await client.request<Static<typeof ResetResult>>('POST', '/v1/faults/reset'), (b) => `removed ${b.removed} rule(s)\n`);
  },
  async trace(ctx, client) {
    const limit = int(ctx, 'limit', 1) ?? 50;
    return answer(ctx, await client.request<Static<typeof TraceList>>('GET', `/v1/faults/trace?limit=${limit}`), (b) => renderTrace(b.entries, ctx.out));
  },
};

/** Prints the answer (JSON or human) and maps a refusal to exit 1 with the agent's code and fix. */
function answer<T>(ctx: CommandContext, reply: FaultReply<T>, human: (body: T) => string): number {
  const json = ctx.args.options.json === true;
  if (reply.ok) {
    ctx.io.stdout.write(json ? `${JSON.stringify(reply.body, null, 2)}\n` : human(reply.body));
    return 0;
  }
  const { code, message, status } = reply.error;
  const fix = (codes as Record<string, { fix: string } | undefined>)[code]?.fix;
  if (json) ctx.io.stdout.write(`${JSON.stringify({ error: reply.error }, null, 2)}\n`);
  ctx.io.stderr.write(`${ctx.err.red(`brixlet: the agent refused (HTTP ${status}): ${message}`)} ${ctx.err.dim(`[${code}]`)}\n${fix !== undefined ? `${ctx.err.dim(`fix: ${fix}`)}\n` : ''}`);
  return 1;
}


const str = (ctx: CommandContext, name: string): string | undefined => stringOption(ctx.args, name);

function intText(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw usage(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}

function int(ctx: CommandContext, name: string, min: number): number | undefined {
  const text = str(ctx, name);
  return text === undefined ? undefined : intText(text, `--${name}`, min);
}

/** `code=12`, `links=0;1`, `code=0x80E24E00,tempC=97`: numbers (decimal or hex), `;` separates a list. */
export function parseParams(text: string | undefined): Record<string, number | number[]> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, number | number[]> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || !/^[A-Za-z]+$/.test(key)) throw usage(`--param takes key=value pairs separated by commas, got '${pair}'`);
    const nums = pair
      .slice(eq + 1)
      .split(';')
      .map((v) => {
        const n = Number(v.trim());
        if (v.trim() === '' || !Number.isFinite(n)) throw usage(`--param ${key}: '${v}' is not a number`);
        return n;
      });
    out[key] = key === 'links' ? nums : (nums[0] as number);
  }
  return out;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`);
  }
}
