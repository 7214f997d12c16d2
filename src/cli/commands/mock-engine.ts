/**
 * `brixlet mock-engine`: one or more OpenAI-compatible mock vLLM engines (src/mock-engine) on this
 * machine, with latency from a continuous-batching model of a GPU profile — for trying the
 * gateway, its routing policies and autoscaling without GPUs. Runs until SIGTERM/Ctrl-C, then
 * closes the engines (open streams get an error event).
 */
import { toDisposable } from '../../common/lifecycle.js';
import { GPU_PROFILES, type GpuProfile, KV_DEFAULTS, type KvEventsConfig, parseKvEventsConfig, type RunningMockEngine, startMockEngine, startMockEngines } from '../../mock-engine/index.js';
import { stringOption, usage } from '../args.js';
import { serve } from '../serve.js';
import { type Command, CONFIG_OPTION, JSON_OPTION, type ParsedArgs } from '../types.js';

/** The built-in profile table, for --help. */
const PROFILE_HELP = [
  '  profile  hardware               prefill  decode  KV blocks  $/h (list)',
  ...Object.values(GPU_PROFILES).map(
    (p) => `  ${p.name.padEnd(9)}${(p.description ?? '').padEnd(23)}${p.speed.prefill.toFixed(2).padEnd(9)}${p.speed.decode.toFixed(2).padEnd(8)}${String(p.kvBlocks).padEnd(11)}${p.costPerHour.toFixed(2)}`,
  ),
];

export const mockEngineCommand: Command = {
  name: 'mock-engine',
  summary: 'Run mock OpenAI-compatible vLLM engines with a GPU latency model (no GPU needed)',
  usage: 'brixlet mock-engine [--port N] [--host H] [--model NAME] [--gpu h100[,a10…]] [--seed N] [--time-scale X] [--engines N] [--kv-socket PATH [--kv-namespace NS] [--kv-bytes-per-token B] [--kv-scale N] [--kv-load-gbps X]] [--kv-events-config JSON] [--json]',
  description: [
    'Serves /v1/models, /v1/completions and /v1/chat/completions (streaming and not) like a vLLM',
    'server of an 8B model, /health, and /metrics with vLLM\'s names. Answers take the time a',
    'continuous-batching engine on the chosen GPU would need: chunked prefill of the tokens its own',
    'prefix cache does not hold (4 characters = 1 token, 16-token blocks), one decode step per',
    'output token, queueing and preemption when the KV cache is full. Output is filler text;',
    'max_tokens sets its length, otherwise a length from 16 to 256 drawn from --seed.',
    '',
    'GPU profiles (speeds relative to the h100; informative list prices):',
    ...PROFILE_HELP,
    '',
    '--time-scale X runs model time X times faster than the clock (metrics still report model',
    'seconds); --time-scale inf answers at once. With --engines N it starts N engines on seeds',
    'seed…seed+N−1, --gpu values cycled, ports from --port upwards (or free ports with 0).',
    '',
    '--kv-socket PATH attaches the engines to a node KV shard (an agent\'s --kv.socket; `brixlet up',
    '--engines N` does it for you). Its own prefix cache stands for the GPU\'s: on a miss the engine',
    'looks the prompt\'s block chain up in the shard (the TypeScript client, chain keys of 16-token',
    'blocks), loads the hit blocks in (block bytes / --kv-load-gbps of model time) instead of',
    'computing them, checks their bytes, and after prefill offloads its new blocks (ALLOC, write,',
    'SEAL). Modelled KV is --kv-bytes-per-token (default 131072 = 128 KiB: Llama-3-8B in BF16,',
    '2 (K, V) x 32 layers x 8 KV heads x 128 dims x 2 bytes, from its published config.json); the',
    'bytes really moved are that / --kv-scale (default 64: 2 MiB blocks written as 32 KiB ones, so a',
    '2-core machine carries the traffic). --kv-load-gbps defaults to 25 (GB/s, PCIe Gen4 x16: 31.5',
    'GB/s raw, ~25 GB/s in pinned host-to-device copies). A shard that is gone, full or stopping',
    'never fails a request: the engine prefills and counts a fallback.',
    '',
    'Test hooks (also for your own gateway or autoscaler tests):',
    '  POST /admin/health {"healthy":false}                  /health answers 503 until set true',
    '  POST /admin/fail {"mode":"reset"|"status"|"midstream","status":500,"count":N}',
    '       the next N completions: reset = connection dropped before any byte; status = that',
    '       HTTP error; midstream = dropped after a few stream chunks / half a body',
    '  GET  /admin/stats                                      requests, aborts, model state (JSON)',
    '',
    'Metrics (label model_name): vllm:num_requests_running, vllm:num_requests_waiting,',
    'vllm:num_requests_swapped, vllm:gpu_cache_usage_perc, vllm:cpu_cache_usage_perc,',
    'vllm:avg_prompt_throughput_toks_per_s, vllm:avg_generation_throughput_toks_per_s,',
    'vllm:gpu_prefix_cache_hit_rate, vllm:prompt_tokens_total, vllm:generation_tokens_total,',
    'vllm:num_preemptions_total, vllm:request_success_total, histograms',
    'vllm:time_to_first_token_seconds, vllm:time_per_output_token_seconds,',
    'vllm:e2e_request_latency_seconds, vllm:request_queue_time_seconds,',
    'vllm:request_prefill_time_seconds, vllm:request_decode_time_seconds,',
    'vllm:request_prompt_tokens, vllm:request_generation_tokens; and gpu_busy_time_ratio.',
    'With --kv-socket also brixlet_mock_engine_kv_{lookups,hit_blocks,load_seconds,offload_blocks,',
    'offload_bytes,corrupt_blocks,fallbacks}_total, brixlet_mock_engine_kv_scale and _kv_block_bytes.',
  ].join('\n'),
  examples: [
    'brixlet mock-engine --port 8000',
    'brixlet mock-engine --engines 4 --gpu h100,a10 --port 0 --json',
    'brixlet mock-engine --time-scale inf --model llama-3-8b',
    'brixlet mock-engine --engines 2 --port 0 --kv-socket /run/brixlet/kv.sock   # share prefixes through the node KV shard',
    'curl -s localhost:8000/v1/chat/completions -H content-type:application/json -d \'{"model":"mock-llama-3-8b","messages":[{"role":"user","content":"hi"}],"max_tokens":8}\'',
  ],
  configSections: ['log', 'shutdown'],
  options: [
    { name: 'port', type: 'string', valueName: 'N', description: 'Port of the (first) engine; 0 picks free ports (default 8000).' },
    { name: 'host', type: 'string', valueName: 'H', description: 'Listen address (default 127.0.0.1).' },
    { name: 'model', type: 'string', valueName: 'NAME', description: 'Model name served (default mock-llama-3-8b).' },
    { name: 'served-model-name', type: 'string', valueName: 'A,B', description: 'Names accepted and listed instead of --model (comma-separated).' },
    { name: 'gpu', type: 'string', valueName: 'P[,P…]', description: 'GPU profile(s): h100, a100, l20, a10; cycled over --engines (default h100).' },
    { name: 'seed', type: 'string', valueName: 'N', description: 'Seed of output lengths and text (default 0).' },
    { name: 'time-scale', type: 'string', valueName: 'X', description: 'Model time per wall time (default 1); inf = no latency.' },
    { name: 'engines', type: 'string', valueName: 'N', description: 'How many engines to start (default 1).' },
    { name: 'api-key', type: 'string', valueName: 'KEY', description: 'Require Authorization: Bearer KEY on /v1/*.' },
    { name: 'kv-socket', type: 'string', valueName: 'PATH', description: 'Node KV shard socket to offload to and load from (default empty: off).' },
    { name: 'kv-namespace', type: 'string', valueName: 'NS', description: 'KV namespace; engines share blocks within one (default vllm/<model>/bfloat16/mock1of<scale>/bs16/tp0of1/pp0of1, the vLLM connector\'s format).' },
    { name: 'kv-bytes-per-token', type: 'string', valueName: 'B', description: `Modelled KV bytes per token (default ${KV_DEFAULTS.bytesPerToken}: Llama-3-8B, BF16).` },
    { name: 'kv-scale', type: 'string', valueName: 'N', description: `Bytes really moved = modelled / N (default ${KV_DEFAULTS.scale}).` },
    { name: 'kv-load-gbps', type: 'string', valueName: 'X', description: `Modelled host-to-GPU load bandwidth in GB/s (default ${KV_DEFAULTS.loadGbps}: PCIe Gen4 x16).` },
    {
      name: 'kv-events-config',
      type: 'string',
      valueName: 'JSON',
      description: 'Publish KV events over ZMQ as vLLM does, with vLLM\'s JSON (e.g. {"enable_kv_cache_events":true,"endpoint":"tcp://*:5557","replay_endpoint":"tcp://*:5558","topic":"kv@ip@model"}); engine i uses port + i; default off. See docs/kv-events.md.',
    },
    JSON_OPTION,
    CONFIG_OPTION,
  ],
  run: (ctx) => {
    const opts = parseMockEngineArgs(ctx.args);
    return serve(ctx, async (rt) => {
      const common = {
        host: opts.host,
        model: opts.model,
        seed: opts.seed,
        timeScale: opts.timeScale,
        ...(opts.servedModelNames !== undefined && { servedModelNames: opts.servedModelNames }),
        ...(opts.apiKey !== undefined && { apiKey: opts.apiKey }),
        ...kvEngineOptions(opts.kv),
        ...opts.kvEvents,
      };
      const started: RunningMockEngine[] =
        opts.engines === 1
          ? [await startMockEngine({ ...common, port: opts.port, gpu: opts.gpus[0] as string, name: 'engine' })]
          : await startMockEngines(opts.engines, { ...common, port: opts.port, gpus: opts.gpus, name: 'engine' });
      for (const e of started) rt.store.add(toDisposable(`mock engine ${e.name}`, () => e.close()));
      const kv = started[0]?.kv;
      rt.log.info(
        {
          engines: started.map((e) => ({ name: e.name, url: e.url, gpu: e.profile.name, seed: e.seed, ...(e.kvEvents !== undefined && { kvEvents: { endpoint: e.kvEvents.endpoint, replayEndpoint: e.kvEvents.replayEndpoint } }) })),
          timeScale: opts.timeScale,
          ...(kv !== undefined && { kv: { socket: kv.options.socketPath, namespace: kv.options.namespace, modelledBlockBytes: kv.blockBytes, writtenBlockBytes: kv.writtenBlockBytes, scale: kv.options.scale, loadGbps: kv.options.loadGbps } }),
        },
        'mock engines listening',
      );
      const key = (_e: RunningMockEngine, i: number) => (started.length === 1 ? 'engine' : `engine-${i}`);
      return {
        title: started.length === 1 ? 'mock engine' : `${started.length} mock engines`,
        urls: Object.fromEntries(started.map((e, i) => [key(e, i), e.url])),
        roles: Object.fromEntries(started.map((e, i) => [key(e, i), role(e.profile, e.seed, e.models, opts.timeScale) + kvRoleText(e)])),
      };
    });
  },
};

/** How fast a mock engine's model time runs, for the URL table. */
export function timeScaleText(timeScale: number): string {
  return timeScale === Infinity ? 'no latency' : timeScale === 1 ? 'real time' : `${timeScale}× time`;
}

/** ", KV shard <socket> (1/64 scale)" for an engine attached to a shard, else "". */
export function kvRoleText(e: RunningMockEngine): string {
  const events = e.kvEvents === undefined ? '' : `, KV events ${e.kvEvents.endpoint}${e.kvEvents.replayEndpoint === undefined ? '' : ` (replay ${e.kvEvents.replayEndpoint})`}`;
  return (e.kv === undefined ? '' : `, KV shard ${e.kv.options.socketPath} (1/${e.kv.options.scale} scale)`) + events;
}

/** The engine options of --kv-* (none when --kv-socket is empty). */
export function kvEngineOptions(kv: MockEngineKvArgs): { kvSocket?: string; kvNamespace?: string; kvBytesPerToken?: number; kvScale?: number; kvLoadGbps?: number } {
  if (kv.socket === '') return {};
  return { kvSocket: kv.socket, ...(kv.namespace !== undefined && { kvNamespace: kv.namespace }), kvBytesPerToken: kv.bytesPerToken, kvScale: kv.scale, kvLoadGbps: kv.loadGbps };
}

function role(p: GpuProfile, seed: number, models: readonly string[], timeScale: number): string {
  return `${p.name}, seed ${seed}, ${timeScaleText(timeScale)}, model ${models.join(', ')} (/v1/chat/completions, /metrics, /admin)`;
}

export interface MockEngineArgs {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  readonly servedModelNames: readonly string[] | undefined;
  readonly gpus: readonly string[];
  readonly seed: number;
  readonly timeScale: number;
  readonly engines: number;
  readonly apiKey: string | undefined;
  readonly kv: MockEngineKvArgs;
  /** From --kv-events-config (empty: off). */
  readonly kvEvents: KvEventsConfig;
}

export interface MockEngineKvArgs {
  /** Empty = not attached. */
  readonly socket: string;
  readonly namespace: string | undefined;
  readonly bytesPerToken: number;
  readonly scale: number;
  readonly loadGbps: number;
}

/** The command's own flags, checked before anything starts (BRX_ERR_CLI_USAGE on a bad value). */
export function parseMockEngineArgs(args: ParsedArgs): MockEngineArgs {
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = stringOption(args, name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw usage(`--${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
    return n;
  };
  const list = (name: string): string[] | undefined => {
    const raw = stringOption(args, name);
    if (raw === undefined) return undefined;
    const items = raw.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw usage(`--${name} must be a comma-separated list without empty items, got '${raw}'`);
    return items;
  };
  const scaleRaw = stringOption(args, 'time-scale');
  let timeScale = 1;
  if (scaleRaw !== undefined) {
    timeScale = /^(inf|infinity)$/i.test(scaleRaw.trim()) ? Infinity : Number(scaleRaw);
    if (!(timeScale > 0)) throw usage(`--time-scale must be a positive number or inf, got '${scaleRaw}'`);
  }
  const positive = (name: string, dflt: number): number => {
    const raw = stringOption(args, name);
    if (raw === undefined) return dflt;
    const x = Number(raw);
    if (raw.trim() === '' || !(x > 0) || !Number.isFinite(x)) throw usage(`--${name} must be a positive number, got '${raw}'`);
    return x;
  };
  const eventsRaw = stringOption(args, 'kv-events-config');
  const kvEvents = eventsRaw === undefined ? {} : parseKvEventsConfig(eventsRaw);
  if (typeof kvEvents === 'string') throw usage(`--kv-events-config: ${kvEvents}`);
  const namespace = stringOption(args, 'kv-namespace');
  if (namespace !== undefined && namespace.trim() === '') throw usage('--kv-namespace must not be empty');
  return {
    host: stringOption(args, 'host') ?? '127.0.0.1',
    port: int('port', 8000, 0, 65535),
    model: stringOption(args, 'model') ?? 'mock-llama-3-8b',
    servedModelNames: list('served-model-name'),
    gpus: list('gpu') ?? ['h100'],
    seed: int('seed', 0, 0, 2 ** 31 - 1),
    timeScale,
    engines: int('engines', 1, 1, 256),
    apiKey: stringOption(args, 'api-key'),
    kvEvents,
    kv: {
      socket: stringOption(args, 'kv-socket') ?? '',
      namespace,
      bytesPerToken: positive('kv-bytes-per-token', KV_DEFAULTS.bytesPerToken),
      scale: positive('kv-scale', KV_DEFAULTS.scale),
      loadGbps: positive('kv-load-gbps', KV_DEFAULTS.loadGbps),
    },
  };
}
