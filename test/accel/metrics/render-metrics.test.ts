import { COMPAT_NAME, havePromtool, promtoolLint, promtoolSkipNote, TOLERATED } from '../../helpers/promtool.js';
import { describe, expect, it } from 'vitest';
import { renderAccelMetrics, type RenderAccelMetricsOptions } from '../../../src/accel/metrics/render-metrics.js';
import { ProbeErrorTotals } from '../../../src/accel/metrics/probe-error-totals.js';
import { PROBES } from '../../../src/accel/probes/index.js';
import type { Probe } from '../../../src/accel/probes/probe.js';
import type { AccelSnapshot } from '../../../src/accel/types.js';
import { ASCEND_SAMPLE, H100_SAMPLE, backendStatus, eightGpus, eightNpus, gpu, npu, snapshot } from '../helpers/snapshot.js';
import { parseExposition, samplesOf } from '../helpers/exposition-parser.js';

const opts = (over: Partial<RenderAccelMetricsOptions> = {}): RenderAccelMetricsOptions => ({
  probes: PROBES,
  dcgm: true,
  npu: true,
  hostname: 'host-a',
  errorTotals: new ProbeErrorTotals(),
  ...over,
});

const mixed = (): AccelSnapshot => snapshot([gpu(0, H100_SAMPLE), gpu(1, H100_SAMPLE), npu(0, ASCEND_SAMPLE)]);

describe('renderAccelMetrics', () => {
  it('writes HELP and TYPE once per name, before that name’s samples', () => {
    const text = renderAccelMetrics(snapshot([...eightGpus(), ...eightNpus()]), opts());
    const parsed = parseExposition(text);
    const typeLines = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    const names = typeLines.map((l) => l.split(' ')[2]);
    expect(new Set(names).size).toBe(names.length);
    expect(text.split('\n').filter((l) => l.startsWith('# HELP ')).length).toBe(names.length);
    for (const s of parsed.samples) expect(parsed.types.get(s.name), s.name).toBeDefined();
    expect(text.endsWith('\n')).toBe(true);
  });

  it('labels DCGM series like dcgm-exporter, in its order', () => {
    const [temp] = samplesOf(renderAccelMetrics(mixed(), opts()), 'DCGM_FI_DEV_GPU_TEMP');
    expect(temp?.labels).toEqual([
      ['gpu', '0'],
      ['UUID', gpu(0).identity.uuid],
      ['pci_bus_id', '00000000:18:00.0'],
      ['device', 'nvidia0'],
      ['modelName', 'NVIDIA H100 80GB HBM3'],
      ['Hostname', 'host-a'],
      ['DCGM_FI_DRIVER_VERSION', '550.90.07'],
    ]);
    expect(temp?.value).toBe('41');
  });

  it('labels npu and native series with their own label sets, extra labels last', () => {
    const text = renderAccelMetrics(mixed(), opts());
    expect(samplesOf(text, 'npu_chip_info_power')[0]?.labels.map(([k]) => k)).toEqual(['id', 'model_name', 'vdie_id', 'pcie_bus_info']);
    const temp = samplesOf(text, 'brixlet_accelerator_temperature_celsius').find((s) => s.labels.some(([k, v]) => k === 'vendor' && v === 'ascend'));
    expect(temp?.labels.map(([k]) => k)).toEqual(['vendor', 'index', 'uuid', 'model', 'pci_bus_id', 'node', 'sensor']);
    expect(samplesOf(text, 'npu_chip_info_name')[0]?.labels.at(-1)).toEqual(['name', 'Ascend910B3']);
  });

  it('escapes label values in the output', () => {
    const text = renderAccelMetrics(mixed(), opts({ hostname: 'we\\ird "host"\nname' }));
    expect(text).toContain('Hostname="we\\\\ird \\"host\\"\\nname"');
    expect(samplesOf(text, 'DCGM_FI_DEV_GPU_TEMP')[0]?.labels.find(([k]) => k === 'Hostname')?.[1]).toBe('we\\ird "host"\nname');
  });

  it('turns the compatible families off by flag, never the native one', () => {
    const none = renderAccelMetrics(mixed(), opts({ dcgm: false, npu: false }));
    expect(none).not.toMatch(/^(# (HELP|TYPE) )?(DCGM_|npu_|machine_npu_nums)/m);
    expect(none).toContain('brixlet_accelerator_power_watts{vendor="nvidia"');
    expect(none).toContain('brixlet_accelerator_power_watts{vendor="ascend"');
    const dcgmOnly = renderAccelMetrics(mixed(), opts({ npu: false }));
    expect(dcgmOnly).toMatch(/^DCGM_FI_DEV_GPU_TEMP\{/m);
    expect(dcgmOnly).not.toMatch(/^npu_/m);
    const npuOnly = renderAccelMetrics(mixed(), opts({ dcgm: false }));
    expect(npuOnly).toMatch(/^npu_chip_info_temperature\{/m);
    expect(npuOnly).not.toMatch(/^DCGM_/m);
  });

  it('keeps each compatible family to its vendor', () => {
    const text = renderAccelMetrics(mixed(), opts());
    // The Ascend chip temperature sits in the same sample field as a GPU's; only the npu name may carry it.
    expect(samplesOf(text, 'DCGM_FI_DEV_GPU_TEMP')).toHaveLength(2);
    expect(samplesOf(text, 'npu_chip_info_temperature')).toHaveLength(1);
    expect(samplesOf(text, 'npu_chip_info_temperature')[0]?.value).toBe('45');
  });

  it('exports native metrics for both vendors', () => {
    const text = renderAccelMetrics(mixed(), opts());
    for (const name of ['brixlet_accelerator_power_watts', 'brixlet_accelerator_memory_used_bytes', 'brixlet_accelerator_healthy', 'brixlet_accelerator_temperature_celsius']) {
      const vendors = new Set(samplesOf(text, name).map((s) => s.labels.find(([k]) => k === 'vendor')?.[1]));
      expect([...vendors].sort(), name).toEqual(['ascend', 'nvidia']);
    }
  });

  it('emits no series for unread fields, and no HELP for a metric without series', () => {
    const text = renderAccelMetrics(snapshot([gpu(0, { gpuTempC: 50 })]), opts());
    expect(samplesOf(text, 'DCGM_FI_DEV_GPU_TEMP')).toHaveLength(1);
    expect(text).not.toContain('DCGM_FI_DEV_MEMORY_TEMP');
    expect(text).not.toContain('DCGM_FI_DEV_POWER_USAGE');
    expect(text).not.toContain('brixlet_accelerator_power_watts');
  });

  it('orders metrics by declaration, then series by device', () => {
    const text = renderAccelMetrics(snapshot(eightGpus()), opts());
    const lines = text.split('\n');
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at('DCGM_FI_DEV_FB_FREE{')).toBeLessThan(at('DCGM_FI_DEV_GPU_UTIL{'));
    expect(at('DCGM_FI_DEV_GPU_UTIL{')).toBeLessThan(at('DCGM_FI_DEV_GPU_TEMP{'));
    expect(at('DCGM_FI_DEV_GPU_TEMP{')).toBeLessThan(at('brixlet_accelerator_healthy{'));
    const gpus = samplesOf(text, 'DCGM_FI_DEV_GPU_TEMP').map((s) => s.labels[0]?.[1]);
    expect(gpus).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(renderAccelMetrics(snapshot(eightGpus()), opts())).toBe(text);
  });

  it('drops NaN values and rejects one name declared with two types', () => {
    const nan: Probe = {
      name: 'power',
      description: 't',
      defaultEnabled: true,
      vendors: ['nvidia'],
      metrics: [{ family: 'native', name: 'brixlet_accelerator_test_ratio', type: 'gauge', help: 'h', series: () => [{ value: Number.NaN }] }],
    };
    expect(renderAccelMetrics(snapshot([gpu(0)]), opts({ probes: [nan] }))).not.toContain('brixlet_accelerator_test_ratio');
    const clash: Probe = { ...nan, metrics: [...nan.metrics, { ...nan.metrics[0]!, type: 'counter' }] };
    expect(() => renderAccelMetrics(snapshot([gpu(0)]), opts({ probes: [clash] }))).toThrow(/different types/);
  });

  describe('XIDs', () => {
    const at = 1_700_000_000_000;
    const recentXids = [
      { xid: 79, at: at - 400_000 },
      { xid: 48, at: at - 300_000 },
      { xid: 48, at: at - 299_999 },
      { xid: 13, at: at - 1_000 },
      { xid: 48, at: at - 10 },
    ];
    const s = snapshot([gpu(0, H100_SAMPLE, { recentXids, xidCounts: { 79: 1, 48: 3, 13: 1 } }), gpu(1, H100_SAMPLE)], { at });

    it('counts XIDs of the last 5 minutes per XID in DCGM_EXP_XID_ERRORS_COUNT', () => {
      const rows = samplesOf(renderAccelMetrics(s, opts()), 'DCGM_EXP_XID_ERRORS_COUNT');
      expect(rows.map((r) => [r.labels.find(([k]) => k === 'gpu')?.[1], ...r.labels.slice(-2).map(([k, v]) => `${k}=${v}`), r.value])).toEqual([
        ['0', 'xid=13', 'window_size_in_ms=300000', '1'],
        ['0', 'xid=48', 'window_size_in_ms=300000', '2'],
      ]);
      expect(renderAccelMetrics(s, opts())).toContain('# TYPE DCGM_EXP_XID_ERRORS_COUNT gauge');
    });

    it('reports the last XID in DCGM_FI_DEV_XID_ERRORS, 0 before any', () => {
      expect(samplesOf(renderAccelMetrics(s, opts()), 'DCGM_FI_DEV_XID_ERRORS').map((r) => r.value)).toEqual(['48', '0']);
    });

    it('counts every XID since start in brixlet_accelerator_xid_errors_total, by number', () => {
      const rows = samplesOf(renderAccelMetrics(s, opts()), 'brixlet_accelerator_xid_errors_total');
      expect(rows.map((r) => `${r.labels.at(-1)?.join('=')} ${r.value}`)).toEqual(['xid=13 1', 'xid=48 3', 'xid=79 1']);
    });

    it('sums every XID per device in brixlet_accelerator_xid_errors_all_total, 0 for a device without one', () => {
      const rows = samplesOf(renderAccelMetrics(s, opts()), 'brixlet_accelerator_xid_errors_all_total');
      expect(rows.map((r) => [r.labels.find(([k]) => k === 'index')?.[1], r.value])).toEqual([
        ['0', '5'],
        ['1', '0'],
      ]);
      expect(rows[0]?.labels.map(([k]) => k)).toEqual(['vendor', 'index', 'uuid', 'model', 'pci_bus_id', 'node']);
    });
  });

  it('exports health as a 0/1 gauge and a one-hot state', () => {
    const s = snapshot([gpu(0), gpu(1, {}, { health: { state: 'unhealthy', reasons: ['XID 79'] } }), gpu(2, {}, { health: { state: 'degraded', reasons: [] } })]);
    const text = renderAccelMetrics(s, opts());
    expect(samplesOf(text, 'brixlet_accelerator_healthy').map((r) => r.value)).toEqual(['1', '0', '1']);
    const states = samplesOf(text, 'brixlet_accelerator_health_state').filter((r) => r.value === '1');
    expect(states.map((r) => r.labels.at(-1)?.[1])).toEqual(['healthy', 'unhealthy', 'degraded']);
    expect(samplesOf(text, 'brixlet_accelerator_health_state')).toHaveLength(12);
  });

  it('accumulates probe errors per device across snapshots', () => {
    const errorTotals = new ProbeErrorTotals();
    const err = { api: 'nvmlDeviceGetPowerUsage', code: 'UNKNOWN', value: 999 };
    renderAccelMetrics(snapshot([gpu(0, {}, { errors: [err] })], { seq: 1 }), opts({ errorTotals }));
    const text = renderAccelMetrics(snapshot([gpu(0, {}, { errors: [err] })], { seq: 2 }), opts({ errorTotals }));
    const [row] = samplesOf(text, 'brixlet_accelerator_probe_errors_total');
    expect(row?.labels.slice(-2)).toEqual([
      ['api', 'nvmlDeviceGetPowerUsage'],
      ['code', 'UNKNOWN'],
    ]);
    expect(row?.value).toBe('2');
    expect(text).toContain('# TYPE brixlet_accelerator_probe_errors_total counter');
  });

  it('exports node-level backend, device count and probe timing metrics', () => {
    const s = snapshot([gpu(0), npu(0), npu(1)], {
      backends: [backendStatus('nvidia'), backendStatus('ascend'), { kind: 'nvml', vendor: 'nvidia', state: 'failed', message: 'init 9' }],
      probes: [
        { probe: 'memory', durationSeconds: 0.0004, success: true },
        { probe: 'ecc', durationSeconds: 0.002, success: false },
      ],
    });
    const text = renderAccelMetrics(s, opts());
    expect(text).toContain('brixlet_accelerator_backend_up{vendor="nvidia",backend="sim"} 1\n');
    expect(text).toContain('brixlet_accelerator_backend_up{vendor="nvidia",backend="nvml"} 0\n');
    expect(text).toContain('brixlet_accelerator_devices{vendor="nvidia"} 1\nbrixlet_accelerator_devices{vendor="ascend"} 2\n');
    expect(text).toContain('brixlet_accelerator_probe_duration_seconds{probe="memory"} 0.0004\n');
    expect(text).toContain('brixlet_accelerator_probe_success{probe="ecc"} 0\n');
    expect(text).toContain('machine_npu_nums 2\n');
    expect(renderAccelMetrics(snapshot([gpu(0)]), opts())).not.toContain('machine_npu_nums');
  });

  it('renders an empty node (no backend up) without failing', () => {
    const text = renderAccelMetrics(snapshot([], { backends: [{ kind: 'nvml', vendor: 'nvidia', state: 'absent' }] }), opts());
    expect(text).toBe(
      '# HELP brixlet_accelerator_devices Accelerators found on the node, by vendor (vendors whose library was looked for).\n' +
        '# TYPE brixlet_accelerator_devices gauge\nbrixlet_accelerator_devices{vendor="nvidia"} 0\n' +
        '# HELP brixlet_accelerator_backend_up Whether the vendor backend is up (1) or absent/failed (0).\n' +
        '# TYPE brixlet_accelerator_backend_up gauge\nbrixlet_accelerator_backend_up{vendor="nvidia",backend="nvml"} 0\n',
    );
  });

  it('renders 8 GPUs with every family the same way each time (render time is a bench:accel target)', () => {
    const s = snapshot(eightGpus(), { probes: PROBES.map((p) => ({ probe: p.name, durationSeconds: 0.001, success: true })) });
    const o = opts();
    const first = renderAccelMetrics(s, o);
    expect(first).toContain('DCGM_FI_DEV_GPU_TEMP{gpu="7"');
    for (let i = 0; i < 20; i++) expect(renderAccelMetrics(s, o)).toBe(first);
  });
});

const lint = promtoolLint;

function busyNode(devices: AccelSnapshot['devices']): AccelSnapshot {
  return snapshot(devices, {
    probes: PROBES.map((p, i) => ({ probe: p.name, durationSeconds: 0.0001 * (i + 1), success: i % 5 !== 0 })),
  });
}

describe.skipIf(!havePromtool)(`promtool check metrics${promtoolSkipNote}`, () => {
  const at = 1_700_000_000_000;
  const gpus = eightGpus().map((d, i) =>
    i === 3
      ? {
          ...d,
          recentXids: [{ xid: 79, at: at - 5 }],
          xidCounts: { 79: 1 },
          errors: [{ api: 'nvmlDeviceGetPowerUsage', code: 'GPU_IS_LOST', value: 15 }],
          health: { state: 'unhealthy' as const, reasons: ['XID 79'] },
          sample: { ...H100_SAMPLE, clockEventReasons: 0x48, recoveryAction: 1, processes: [{ pid: 7, usedMemoryBytes: 1e9 }] },
        }
      : d,
  );
  const npus = eightNpus().map((d, i) => (i === 5 ? { ...d, sample: { ...ASCEND_SAMPLE, npuHealth: 2, npuFaultCodes: [0x80e24e00, 0x80e3a201] } } : d));

  it('finds nothing wrong with the native family', () => {
    const r = lint(renderAccelMetrics(busyNode([...gpus, ...npus]), opts({ dcgm: false, npu: false })));
    expect(r.findings).toEqual([]);
    expect(r.status).toBe(0);
  });

  for (const [label, devices] of [
    ['8 GPUs', gpus],
    ['8 NPUs', npus],
  ] as const) {
    it(`parses the ${label} scrape with every family; lint findings only on compatible names`, () => {
      const text = renderAccelMetrics(busyNode(devices), opts());
      const r = lint(text);
      expect(r.status === 0 || r.status === 3, `exit ${r.status}`).toBe(true);
      expect(r.findings.length > 0).toBe(r.status === 3);
      for (const f of r.findings) {
        expect(f.name, f.problem).toMatch(COMPAT_NAME);
        expect(TOLERATED, `${f.name}: ${f.problem}`).toContain(f.problem);
      }
      if (label === '8 GPUs') {
        expect(r.findings).toContainEqual({ name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', problem: TOLERATED[0] });
        expect(text).toContain('DCGM_EXP_XID_ERRORS_COUNT{');
      }
    });
  }

  it('rejects a broken scrape with exit 1 (the check is real)', () => {
    expect(lint('# TYPE a gauge\n# TYPE a gauge\na 1\n').status).toBe(1);
  });
});
