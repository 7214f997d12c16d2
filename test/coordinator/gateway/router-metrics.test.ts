import { expect, it } from 'vitest';
import type { EngineSetView } from '../../../src/coordinator/engines/types.js';
import { createRouterMetrics } from '../../../src/coordinator/gateway/router-metrics.js';
import type { EngineState } from '../../../src/coordinator/router/types.js';
import { testMetrics } from '../../helpers/apps.js';
import { havePromtool, intolerable, promtoolLint, promtoolSkipNote } from '../../helpers/promtool.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const engines = (inFlight: Record<string, number>): EngineSetView => ({
  // e"2 is excluded and has not listed its models yet.
  all: () => Object.entries(inFlight).map(([name, n]) => ({ name, load: { inFlight: n }, models: name === 'e"2' ? [] : ['m', 'lora'], ...(name === 'e"2' ? { excludedBecause: 'unhealthy' } : {}) }) as unknown as EngineState),
  get: () => undefined,
  candidates: () => ({ engines: [] }),
  models: () => [],
  knowsModel: () => false,
  isLoraAdapter: () => false,
});

it('counts requests, decisions, retries, errors and tokens by their labels', () => {
  const m = createRouterMetrics(undefined, engines({ e1: 2, 'e"2': 0 }));
  m.request('m', 'cost', 'e1', 200, 0.2);
  m.request('m', 'cost', 'e1', 200, 0.3);
  m.request('m', 'random', 'e1', 502, 7);
  m.decision('cost', 'e1', 12);
  m.decision('cost', 'e1', 80);
  m.retry('reset');
  m.upstreamError('e1', 'midstream');
  m.tokens('m', 100, 20);
  m.tokens('m', 0, 5);
  m.ttft('m', 'cost', 0.04);
  const t = m.render();
  expect(sample(t, 'brixlet_router_requests_total{model="m",policy="cost",engine="e1",code="200"}')).toBe(2);
  expect(sample(t, 'brixlet_router_requests_total{model="m",policy="random",engine="e1",code="502"}')).toBe(1);
  expect(sample(t, 'brixlet_router_request_duration_seconds_bucket{model="m",policy="cost",le="0.25"}')).toBe(1);
  expect(sample(t, 'brixlet_router_request_duration_seconds_bucket{model="m",policy="cost",le="0.5"}')).toBe(2);
  expect(sample(t, 'brixlet_router_request_duration_seconds_bucket{model="m",policy="random",le="5"}')).toBe(0);
  expect(sample(t, 'brixlet_router_request_duration_seconds_bucket{model="m",policy="random",le="+Inf"}')).toBe(1);
  expect(sample(t, 'brixlet_router_request_duration_seconds_sum{model="m",policy="cost"}')).toBeCloseTo(0.5);
  expect(sample(t, 'brixlet_router_request_duration_seconds_count{model="m",policy="cost"}')).toBe(2);
  expect(sample(t, 'brixlet_router_decisions_total{policy="cost",engine="e1"}')).toBe(2);
  expect(sample(t, 'brixlet_router_decision_seconds_bucket{policy="cost",le="0.000025"}')).toBe(1);
  expect(sample(t, 'brixlet_router_decision_seconds_bucket{policy="cost",le="0.0001"}')).toBe(2);
  expect(sample(t, 'brixlet_router_retries_total{reason="reset"}')).toBe(1);
  expect(sample(t, 'brixlet_router_retries_total{reason="connect"}')).toBe(0);
  expect(sample(t, 'brixlet_router_client_timeouts_total{kind="send"}')).toBe(0);
  expect(sample(t, 'brixlet_router_upstream_errors_total{engine="e1",reason="midstream"}')).toBe(1);
  expect(sample(t, 'brixlet_router_tokens_total{model="m",kind="input"}')).toBe(100);
  expect(sample(t, 'brixlet_router_tokens_total{model="m",kind="output"}')).toBe(25);
  expect(sample(t, 'brixlet_router_ttft_seconds_bucket{model="m",policy="cost",le="0.05"}')).toBe(1);
  expect(sample(t, 'brixlet_router_in_flight{engine="e1"}')).toBe(2);
  expect(sample(t, 'brixlet_router_in_flight{engine="e\\"2"}')).toBe(0);
  expect(sample(t, 'brixlet_router_engine_routable{engine="e1",model="m"}')).toBe(1);
  expect(sample(t, 'brixlet_router_engine_routable{engine="e1",model="lora"}')).toBe(1);
  expect(sample(t, 'brixlet_router_engine_routable{engine="e\\"2",model=""}')).toBe(0);
});

it('is served with the app metrics and passes promtool' + promtoolSkipNote, async () => {
  const app = testMetrics();
  const m = createRouterMetrics(app, engines({ e1: 1 }));
  m.request('m', 'cost', 'e1', 200, 0.01);
  m.decision('cost', 'e1', 5);
  m.retry('status');
  m.tokens('m', 3, 4);
  m.ttft('m', 'cost', 0.01);
  m.upstreamError('e1', 'reset');
  const text = await app.render();
  expect(text).toContain('# TYPE brixlet_router_requests_total counter');
  expect(text).toContain('# TYPE brixlet_router_decision_seconds histogram');
  if (!havePromtool) return;
  const lint = promtoolLint(text);
  expect(lint.status === 0 || lint.status === 3).toBe(true);
  // prom-client's own process metrics have findings of their own; the router's must have none.
  expect(intolerable(lint.findings).filter((f) => f.name.startsWith('brixlet_router_'))).toEqual([]);
  expect(promtoolLint(m.render()).status).toBe(0);
});

it('forgets every series of an engine that left and keeps the others counting', () => {
  const m = createRouterMetrics(undefined, engines({}));
  for (const e of ['pod-a', 'pod-b']) {
    m.request('m', 'cost', e, 200, 0.1);
    m.decision('cost', e, 10);
    m.upstreamError(e, 'reset');
  }
  m.forgetEngine('pod-a');
  m.forgetEngine('never-seen');
  const text = m.render();
  expect(text).not.toContain('pod-a');
  expect(sample(text, 'brixlet_router_requests_total{model="m",policy="cost",engine="pod-b",code="200"}')).toBe(1);
  m.request('m', 'cost', 'pod-b', 200, 0.1);
  m.decision('cost', 'pod-a', 10);
  const after = m.render();
  expect(sample(after, 'brixlet_router_requests_total{model="m",policy="cost",engine="pod-b",code="200"}')).toBe(2);
  expect(sample(after, 'brixlet_router_decisions_total{policy="cost",engine="pod-a"}')).toBe(1);
  expect(sample(after, 'brixlet_router_upstream_errors_total{engine="pod-b",reason="reset"}')).toBe(1);
});
