// The Grafana dashboards in chart/dashboards/: structure Grafana and its dashboard sidecar rely on
// (unique uid and panel ids, the ${datasource} variable on every query, a grid that fits 24 columns
// without overlaps, every $variable defined) and what each dashboard is for. That every query returns
// series from a live brixlet is test/e2e/prometheus.test.ts.
import { describe, expect, it } from 'vitest';
import { allPanels, type Dashboard, readDashboards } from '../helpers/prometheus-expr.js';

const dashboards = readDashboards();
const BUILTINS = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__interval_ms']);

function exprsOf(d: Dashboard): string[] {
  return allPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
}

interface GridPanel {
  id?: number;
  type?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
}

it('ships the four dashboards, each with a unique brixlet uid and title and the brixlet tag', () => {
  expect(dashboards.map((d) => d.file)).toEqual(['accelerators.json', 'kv-pool.json', 'optimizer.json', 'router.json']);
  const uids = dashboards.map((d) => d.dashboard.uid);
  expect(new Set(uids).size).toBe(uids.length);
  expect(new Set(dashboards.map((d) => d.dashboard.title)).size).toBe(dashboards.length);
  for (const { file, dashboard: d } of dashboards) {
    expect(d.uid, file).toMatch(/^brixlet-[a-z-]+$/);
    expect(d.uid!.length, file).toBeLessThanOrEqual(40);
    expect(d.title, file).toMatch(/^brixlet \/ /);
    expect(d.tags, file).toContain('brixlet');
    expect(d.schemaVersion, file).toBeGreaterThanOrEqual(36);
  }
});

describe.each(dashboards)('$file', ({ file, dashboard }) => {
  const panels = allPanels(dashboard) as GridPanel[];
  const vars = dashboard.templating?.list ?? [];

  it('has a prometheus ${datasource} variable that every panel and query uses', () => {
    expect(vars.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels.filter((q) => q.type !== 'row')) {
      expect([p.id, p.datasource]).toEqual([p.id, { type: 'prometheus', uid: '${datasource}' }]);
      expect(p.targets?.length, `panel ${p.id} has queries`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect([p.id, t.datasource]).toEqual([p.id, { type: 'prometheus', uid: '${datasource}' }]);
    }
  });

  it('has unique panel ids and per-panel refIds, and non-empty queries', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size, `panel ${p.id}`).toBe(refs.length);
      for (const t of p.targets ?? []) expect(t.expr?.trim(), `panel ${p.id} ${t.refId}`).not.toBe('');
    }
  });

  it('lays its panels out on the 24-column grid without overlaps', () => {
    const boxes = panels.map((p) => ({ id: p.id, ...p.gridPos! }));
    for (const b of boxes) {
      expect(b.x >= 0 && b.w > 0 && b.x + b.w <= 24 && b.h > 0 && b.y >= 0, `panel ${b.id}`).toBe(true);
    }
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it('defines every $variable its queries use (query variables with an "All" of .*)', () => {
    const defined = new Set(vars.map((v) => v.name));
    const used = new Set(exprsOf(dashboard).flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!)));
    expect([...used].filter((u) => !defined.has(u) && !BUILTINS.has(u))).toEqual([]);
    for (const v of vars.filter((x) => x.type === 'query')) {
      expect(v, `${file} variable ${v.name}`).toMatchObject({ includeAll: true, allValue: '.*' });
      expect(v.definition, `${file} variable ${v.name}`).toMatch(/^label_values\(\w+, \w+\)$/);
    }
    // A query variable is filtered on by at least one query.
    for (const v of vars.filter((x) => x.type === 'query')) expect(used.has(v.name), `${file} uses $${v.name}`).toBe(true);
  });
});

it('each dashboard shows what it is for', () => {
  const text = Object.fromEntries(dashboards.map(({ file, dashboard }) => [file, exprsOf(dashboard).join('\n')]));
  const need: Record<string, (string | RegExp)[]> = {
    'accelerators.json': ['DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_FB_USED', 'DCGM_FI_DEV_XID_ERRORS', 'brixlet_accelerator_xid_errors_total', 'brixlet_accelerator_health_state', 'brixlet_accelerator_ecc_errors_total', 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'npu_chip_info_health_status', 'npu_chip_info_temperature', 'npu_chip_info_hbm_used_memory'],
    'kv-pool.json': ['brixlet_kvcache_capacity_bytes', 'brixlet_kvcache_bytes', 'brixlet_kvcache_hit_blocks_total', 'brixlet_kvcache_evictions_total', 'brixlet_kvcache_dropped_writes_total', 'brixlet_kvcache_remote_hit_blocks_total', 'brixlet_kvcache_peer_connections', 'brixlet_kvcache_publish_deltas_total'],
    'router.json': [/sum by \(policy\) \(rate\(brixlet_router_requests_total/, /sum by \(engine, code\) \(rate\(brixlet_router_requests_total/, 'histogram_quantile(0.99, sum by (le) (rate(brixlet_router_request_duration_seconds_bucket', 'brixlet_router_ttft_seconds_bucket', 'brixlet_router_in_flight', 'brixlet_router_engine_routable'],
    'optimizer.json': [/sum by \(model, gpu\) \(brixlet_optimizer_plan_replicas/, 'brixlet_optimizer_solve_duration_seconds_bucket', 'status="infeasible"', 'brixlet_optimizer_plan_gate_total', 'brixlet_optimizer_scale_requests_total', 'brixlet_optimizer_unservable_cells', 'brixlet_optimizer_plan_cost'],
  };
  for (const [file, parts] of Object.entries(need)) {
    for (const p of parts) expect(typeof p === 'string' ? text[file]!.includes(p) : p.test(text[file]!), `${file}: ${String(p)}`).toBe(true);
  }
});
