/**
 * The gateway's `brixlet_router_*` metrics, served on the control port's /metrics. The request path
 * only adds to plain numbers, finding each series by Map lookups on its label strings — no label
 * validation or hashing, which prom-client does on every call (even through a labelled child) and
 * which would cost more than the routing decision. The exposition text is rendered at scrape time
 * through AppMetrics.addTextSource; in-flight requests per engine are read from the engines' load
 * counters then.
 */
import type { AppMetrics } from '../../common/metrics.js';
import type { EngineSetView } from '../engines/types.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const DECISION_BUCKETS = [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005];

export type RetryReason = 'connect' | 'reset' | 'status' | 'timeout';
export type UpstreamErrorReason = RetryReason | 'midstream' | 'too-large' | 'idle-timeout';

export interface RouterMetrics {
  /** A finished request; `code` is the HTTP status it counts as (499: the client went away). */
  request(model: string, policy: string, engine: string, code: number, seconds: number): void;
  ttft(model: string, policy: string, seconds: number): void;
  decision(policy: string, engine: string, micros: number): void;
  retry(reason: RetryReason): void;
  upstreamError(engine: string, reason: UpstreamErrorReason): void;
  /** A client cut off for slowness: `body` (not sent within --gateway.body-timeout) or `send` (read nothing for --gateway.send-timeout). */
  clientTimeout(kind: 'body' | 'send'): void;
  tokens(model: string, input: number, output: number): void;
  /** Drops every series of an engine that left (recreated pods get new names: series must not pile up). */
  forgetEngine(engine: string): void;
  /** The Prometheus exposition text of every router metric. */
  render(): string;
}

/** A Prometheus label value, escaped for the exposition text. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[]): string {
  return names.map((n, i) => `${n}="${escapeLabel(values[i] as string)}"`).join(',');
}

/**
 * Series of one family, found by their label values through nested Maps: no key string is built
 * (and hashed) per observation, the label strings themselves are the keys.
 */
class SeriesTable<S> {
  private root = new Map<string, unknown>();
  all: S[] = [];
  private readonly keys: (readonly string[])[] = [];

  constructor(private make: (values: readonly string[]) => S) {}

  get(values: readonly string[]): S {
    let node: Map<string, unknown> = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i] as string) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i] as string, next);
      }
      node = next;
    }
    let s = node.get(values[last] as string) as S | undefined;
    if (s === undefined) {
      s = this.make(values);
      node.set(values[last] as string, s);
      this.all.push(s);
      this.keys.push([...values]);
    }
    return s;
  }

  /** Removes the series whose label `at` equals `value` (rare: rebuilds the table). */
  removeWhere(at: number, value: string): void {
    if (!this.keys.some((k) => k[at] === value)) return;
    const keep = this.keys.map((k, i) => [k, this.all[i] as S] as const).filter(([k]) => k[at] !== value);
    this.root = new Map();
    this.all = [];
    this.keys.length = 0;
    for (const [k, series] of keep) {
      const made = this.make;
      this.make = () => series;
      this.get(k);
      this.make = made;
    }
  }
}

class CounterFamily {
  readonly table: SeriesTable<{ labels: string; value: number }>;
  constructor(
    readonly name: string,
    private readonly help: string,
    labelNames: readonly string[],
  ) {
    this.table = new SeriesTable((values) => ({ labels: labelText(labelNames, values), value: 0 }));
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of this.table.all) out.push(`${this.name}{${s.labels}} ${s.value}`);
  }
}

interface HistSeries {
  readonly labels: string;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

class HistogramFamily {
  readonly table: SeriesTable<HistSeries>;
  constructor(
    readonly name: string,
    private readonly help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    this.table = new SeriesTable((values) => ({ labels: labelText(labelNames, values), counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }));
  }

  observe(s: HistSeries, v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += v;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.table.all) {
      const sep = s.labels === '' ? '' : ',';
      let cum = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cum += s.counts[i] as number;
        out.push(`${this.name}_bucket{${s.labels}${sep}le="${this.bounds[i]}"} ${cum}`);
      }
      cum += s.counts[this.bounds.length] as number;
      out.push(`${this.name}_bucket{${s.labels}${sep}le="+Inf"} ${cum}`, `${this.name}_sum{${s.labels}} ${s.sum}`, `${this.name}_count{${s.labels}} ${s.count}`);
    }
  }
}

/** Status codes as label strings, made once. */
const CODES = new Map<number, string>();
function codeText(code: number): string {
  let t = CODES.get(code);
  if (t === undefined) {
    t = String(code);
    CODES.set(code, t);
  }
  return t;
}

/** Router metrics; with `app`, their text is added to its /metrics (one gateway per AppMetrics). */
export function createRouterMetrics(app?: AppMetrics, engines?: EngineSetView): RouterMetrics {
  const requests = new CounterFamily('brixlet_router_requests_total', 'Requests the gateway answered, by model, policy, engine and HTTP status (499: the client went away).', ['model', 'policy', 'engine', 'code']);
  const duration = new HistogramFamily('brixlet_router_request_duration_seconds', 'Gateway request time from arrival to the last byte, by model and policy.', ['model', 'policy'], LATENCY_BUCKETS);
  const ttft = new HistogramFamily('brixlet_router_ttft_seconds', 'Time to first token of streamed requests (arrival to the first body byte), by model and policy.', ['model', 'policy'], LATENCY_BUCKETS);
  const decisions = new CounterFamily('brixlet_router_decisions_total', 'Routing decisions, by policy and chosen engine (a retry decides again).', ['policy', 'engine']);
  const decisionTime = new HistogramFamily('brixlet_router_decision_seconds', 'Time one routing decision took, by policy.', ['policy'], DECISION_BUCKETS);
  const retries = new CounterFamily('brixlet_router_retries_total', 'Requests sent again to another engine before any byte reached the client, by reason.', ['reason']);
  const upstreamErrors = new CounterFamily('brixlet_router_upstream_errors_total', 'Engine failures seen by the gateway, by engine and reason.', ['engine', 'reason']);
  const clientTimeouts = new CounterFamily('brixlet_router_client_timeouts_total', 'Clients the gateway cut off for slowness, by kind (body: request body not in within the body timeout; send: response not read within the send timeout).', ['kind']);
  const tokens = new CounterFamily('brixlet_router_tokens_total', 'Tokens of proxied requests, by model and kind (input: prompt, output: completion).', ['model', 'kind']);
  // Known reasons and kinds start at 0, so increase() counts the first retry or client timeout.
  for (const reason of ['connect', 'reset', 'status', 'timeout'] as const satisfies readonly RetryReason[]) retries.table.get([reason]);
  for (const kind of ['body', 'send'] as const) clientTimeouts.table.get([kind]);

  const metrics: RouterMetrics = {
    request(model, policy, engine, code, seconds) {
      requests.table.get([model, policy, engine, codeText(code)]).value++;
      duration.observe(duration.table.get([model, policy]), seconds);
    },
    ttft(model, policy, seconds) {
      ttft.observe(ttft.table.get([model, policy]), seconds);
    },
    decision(policy, engine, micros) {
      decisions.table.get([policy, engine]).value++;
      decisionTime.observe(decisionTime.table.get([policy]), micros / 1e6);
    },
    retry(reason) {
      retries.table.get([reason]).value++;
    },
    forgetEngine(engine) {
      requests.table.removeWhere(2, engine);
      decisions.table.removeWhere(1, engine);
      upstreamErrors.table.removeWhere(0, engine);
    },
    upstreamError(engine, reason) {
      upstreamErrors.table.get([engine, reason]).value++;
    },
    clientTimeout(kind) {
      clientTimeouts.table.get([kind]).value++;
    },
    tokens(model, input, output) {
      if (input > 0) tokens.table.get([model, 'input']).value += input;
      if (output > 0) tokens.table.get([model, 'output']).value += output;
    },
    render() {
      const out: string[] = [];
      for (const f of [requests, duration, ttft, decisions, decisionTime, retries, upstreamErrors, clientTimeouts, tokens]) f.render(out);
      if (engines !== undefined) {
        out.push('# HELP brixlet_router_in_flight Requests the gateway has sent to each engine and not finished.', '# TYPE brixlet_router_in_flight gauge');
        for (const e of engines.all()) out.push(`brixlet_router_in_flight{engine="${escapeLabel(e.name)}"} ${e.load.inFlight}`);
        // One series per engine and model it serves (model "" before its /v1/models was read), so
        // "no routable engine for a model" is `sum by (model) (...) == 0` on a dashboard or alert.
        out.push('# HELP brixlet_router_engine_routable 1 when the gateway routes to the engine, 0 while it is excluded (failing /health, node stale, GPU unhealthy); per model it serves.', '# TYPE brixlet_router_engine_routable gauge');
        for (const e of engines.all()) {
          const up = e.excludedBecause === undefined ? 1 : 0;
          for (const m of e.models.length > 0 ? e.models : ['']) out.push(`brixlet_router_engine_routable{engine="${escapeLabel(e.name)}",model="${escapeLabel(m)}"} ${up}`);
        }
      }
      return `${out.join('\n')}\n`;
    },
  };
  app?.addTextSource(() => metrics.render());
  return metrics;
}
