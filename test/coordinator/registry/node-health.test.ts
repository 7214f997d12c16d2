import { describe, expect, it } from 'vitest';
import type { AcceleratorReport } from '../../../src/common/node-report.js';
import { describeAccelerators, routability, ROUTABLE, unhealthyAccelerators } from '../../../src/coordinator/registry/node-health.js';

const npu: AcceleratorReport = { vendor: 'ascend', index: 2, uuid: 'npu-2', name: 'Ascend910B3', health: 'unhealthy', reasons: ['critical alarm 0x80E01801', 'HBM ECC'] };
const gpu: AcceleratorReport = { vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'H100', health: 'unhealthy', reasons: [] };
const ok: AcceleratorReport = { ...gpu, index: 1, uuid: 'GPU-1', health: 'healthy' };

describe('node health', () => {
  it('names each device by vendor kind, index and uuid with its reasons', () => {
    expect(describeAccelerators([npu, gpu])).toBe('NPU 2 (npu-2): critical alarm 0x80E01801, HBM ECC; GPU 0 (GPU-0)');
  });

  it('keeps only unhealthy devices', () => {
    expect(unhealthyAccelerators({ accelerators: [ok, npu, { ...ok, health: 'degraded' }] })).toEqual([npu]);
    expect(unhealthyAccelerators({})).toEqual([]);
  });

  it('stale wins over GPU detail; known GPUs narrow the check', () => {
    expect(routability({ name: 'n', stale: true, silentSeconds: 31.6, unhealthy: [] })).toEqual({ ok: false, reason: 'node n is stale (no agent report for 32 s)' });
    expect(routability({ name: 'n', stale: false, silentSeconds: 0, unhealthy: [gpu] }, ['GPU-1'])).toBe(ROUTABLE);
    expect(routability({ name: 'n', stale: false, silentSeconds: 0, unhealthy: [gpu, npu] }, ['npu-2'])).toEqual({
      ok: false,
      reason: 'unhealthy on node n: NPU 2 (npu-2): critical alarm 0x80E01801, HBM ECC',
    });
  });
});
