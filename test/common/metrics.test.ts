import { Counter } from 'prom-client';
import { expect, it } from 'vitest';
import { createAppMetrics, createProcessRegistry } from '../../src/common/metrics.js';

it('serves process metrics with the brixlet_ prefix and app metrics registered later', async () => {
  const proc = createProcessRegistry();
  const a = createAppMetrics(proc);
  const b = createAppMetrics(proc);
  const before = await a.render();
  expect(before).toMatch(/^# HELP brixlet_process_cpu_user_seconds_total/m);
  expect(before).toMatch(/^brixlet_nodejs_heap_size_total_bytes \d+/m);

  new Counter({ name: 'brixlet_test_late_total', help: 'registered after start', registers: [a.registry] }).inc(3);
  const after = await a.render();
  expect(after).toMatch(/^brixlet_test_late_total 3$/m);
  // The other app shares process metrics but not the first app's own.
  const other = await b.render();
  expect(other).toContain('brixlet_process_cpu_user_seconds_total');
  expect(other).not.toContain('brixlet_test_late_total');
});

it('appends text sources after registries, each ending in a newline, until removed', async () => {
  const m = createAppMetrics(createProcessRegistry());
  const remove = m.addTextSource(() => '# TYPE DCGM_FI_DEV_GPU_TEMP gauge\nDCGM_FI_DEV_GPU_TEMP{gpu="0"} 41');
  const text = await m.render();
  expect(text.endsWith('DCGM_FI_DEV_GPU_TEMP{gpu="0"} 41\n')).toBe(true);
  expect(text.indexOf('brixlet_process_cpu_user_seconds_total')).toBeLessThan(text.indexOf('DCGM_FI_DEV_GPU_TEMP'));
  remove();
  expect(await m.render()).not.toContain('DCGM_FI_DEV_GPU_TEMP');
});
