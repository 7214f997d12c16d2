import { describe, expect, it } from 'vitest';
import { DEFAULT_XID_IGNORE, degradedConditions, HealthTracker, parseXidList } from '../../src/accel/health.js';
import type { ApiError, DeviceIdentity, DeviceSample } from '../../src/accel/types.js';

const gpu: DeviceIdentity = { vendor: 'nvidia', index: 0, uuid: 'GPU-a', name: 'H100', pciBusId: '00000000:18:00.0' };
const npu: DeviceIdentity = { vendor: 'ascend', index: 0, uuid: 'NPU-a', name: 'Ascend910B3', pciBusId: '00000000:c1:00.0' };
const clean: DeviceSample = { eccDbeVolatile: 0, remapFailure: false, recoveryAction: 0, pcieGen: 5, pcieGenMax: 5, gpuTempC: 40, slowdownTempC: 90 };
const xid = (n: number, at = 1) => ({ xid: n, at });
const lost: ApiError = { api: 'nvmlDeviceGetPowerUsage', code: 'GPU_IS_LOST', value: 15 };

describe('HealthTracker', () => {
  it('calls a clean device healthy', () => {
    expect(new HealthTracker().update(gpu, clean, [], [], 1)).toEqual({ state: 'healthy', reasons: [] });
  });

  it('ignores application XIDs (default list, or the configured one)', () => {
    expect(DEFAULT_XID_IGNORE).toEqual([13, 31, 43, 45, 68, 109]);
    const t = new HealthTracker();
    expect(t.update(gpu, clean, [], [13, 31, 43, 45, 68, 109].map((n) => xid(n)), 1).state).toBe('healthy');
    const strict = new HealthTracker({ xidIgnore: parseXidList('') });
    expect(strict.update(gpu, clean, [], [xid(13)], 1)).toMatchObject({ state: 'unhealthy', reasons: ['XID 13 (Graphics engine exception)'] });
    expect(parseXidList('13, 31,,43')).toEqual([13, 31, 43]);
  });

  it('an XID makes the device unhealthy once; the next clean sample without a new XID clears it', () => {
    const t = new HealthTracker();
    const h = t.update(gpu, clean, [], [xid(79)], 1000);
    expect(h).toEqual({ state: 'unhealthy', reasons: ['XID 79 (GPU has fallen off the bus)'], since: 1000 });
    expect(t.update(gpu, clean, [], [], 2000)).toEqual({ state: 'healthy', reasons: [] });
  });

  it('keeps an earlier XID reason while the device stays unhealthy, and `since` from the start', () => {
    const t = new HealthTracker();
    t.update(gpu, clean, [], [xid(79)], 1000);
    const h = t.update(gpu, {}, [lost], [], 2000);
    expect(h).toEqual({ state: 'unhealthy', reasons: ['XID 79 (GPU has fallen off the bus)', 'GPU is lost (nvmlDeviceGetPowerUsage: GPU_IS_LOST)'], since: 1000 });
  });

  it('stays unhealthy while the recovery action is set, and clears when it returns to NONE', () => {
    const t = new HealthTracker();
    expect(t.update(gpu, { ...clean, eccDbeVolatile: 2 }, [], [xid(48)], 1).reasons).toEqual(['XID 48 (Double bit ECC error)', 'ECC double-bit errors: 2 (volatile)']);
    // The DBE counter reset (GPU reset) but the driver still asks for a reboot.
    expect(t.update(gpu, { ...clean, recoveryAction: 2 }, [], [], 2)).toMatchObject({ state: 'unhealthy', reasons: ['XID 48 (Double bit ECC error)', 'recovery action NODE_REBOOT (2)'], since: 1 });
    expect(t.update(gpu, clean, [], [], 3).state).toBe('healthy');
  });

  it('does not clear on a sample read with errors, nor while the event source is unknown', () => {
    const t = new HealthTracker();
    t.update(gpu, clean, [], [xid(79)], 1);
    const flaky: ApiError = { api: 'nvmlDeviceGetTemperature', code: 'UNKNOWN', value: 999 };
    expect(t.update(gpu, clean, [flaky], [], 2)).toMatchObject({ state: 'unhealthy', reasons: ['XID 79 (GPU has fallen off the bus)', 'held: nvmlDeviceGetTemperature: UNKNOWN on the last sample'] });
    expect(t.update(gpu, clean, [], [], 3, 'event source failed').state).toBe('unhealthy');
    expect(t.update(gpu, clean, [], [], 4).state).toBe('healthy');
  });

  it('GPU_IS_LOST and RESET_REQUIRED errors, row remap failure are unhealthy', () => {
    const t = new HealthTracker();
    expect(t.update(gpu, {}, [lost], [], 1).state).toBe('unhealthy');
    const reset: ApiError = { api: 'nvmlDeviceGetFieldValues(230)', code: 'RESET_REQUIRED', value: 16 };
    expect(new HealthTracker().update(gpu, {}, [reset], [], 1).reasons).toEqual(['GPU reset required (nvmlDeviceGetFieldValues(230): RESET_REQUIRED)']);
    expect(new HealthTracker().update(gpu, { remapFailure: true }, [], [], 1).reasons).toEqual(['row remap failure']);
  });

  it('reports unknown for a failed event source or backend, unless already unhealthy', () => {
    const t = new HealthTracker();
    expect(t.update(gpu, clean, [], [], 1, 'event source failed: nvmlEventSetWait_v2: UNKNOWN (999)')).toEqual({
      state: 'unknown',
      reasons: ['event source failed: nvmlEventSetWait_v2: UNKNOWN (999)'],
    });
    expect(t.update(gpu, { ...clean, remapFailure: true }, [], [], 2, 'event source failed')).toMatchObject({ state: 'unhealthy', reasons: ['row remap failure', 'event source failed'] });
  });

  it('degrades on pending retirement/remap, PCIe below max, NVLink down, heat and HW clock events', () => {
    const t = new HealthTracker();
    const h = t.update(
      gpu,
      {
        ...clean,
        remapPending: true,
        retiredPagesPending: true,
        gpuUtilPercent: 90,
        pcieGen: 3,
        pcieWidth: 8,
        pcieWidthMax: 16,
        nvlinks: [
          { link: 0, active: true },
          { link: 1, active: false },
        ],
        gpuTempC: 91,
        clockEventReasons: 0x8 | 0x40 | 0x80 | 0x1,
      },
      [],
      [],
      1,
    );
    expect(h).toEqual({
      state: 'degraded',
      reasons: [
        'row remap pending (reset the GPU)',
        'retired pages pending (reset the GPU)',
        'PCIe link gen 3 below max 5 at 90% utilization',
        'PCIe link width x8 below max x16',
        'NVLink inactive: link 1',
        'temperature 91 °C at or above slowdown threshold 90 °C',
        'clock events: HW slowdown, HW thermal slowdown',
        'clock events: HW power brake',
      ],
    });
    // An idle GPU lowers its link generation on its own: not judged below the load threshold.
    expect(degradedConditions({ ...clean, pcieGen: 3, gpuUtilPercent: 0 })).toEqual([]);
    expect(degradedConditions({ ...clean, pcieGen: 3 })).toEqual([]);
    // Software reasons (idle, SW power cap) are normal operation.
    expect(degradedConditions({ clockEventReasons: 0x1 | 0x4 })).toEqual([]);
  });

  it('lists unhealthy reasons before degraded ones', () => {
    const h = new HealthTracker().update(gpu, { ...clean, remapFailure: true, pcieGen: 4, gpuUtilPercent: 50 }, [], [], 1);
    expect(h.reasons).toEqual(['row remap failure', 'PCIe link gen 4 below max 5 at 50% utilization']);
  });

  it('maps Ascend health levels: 0 healthy, 1 degraded, 2/3 unhealthy, 0xFFFFFFFF not present; unknown fault codes degrade, known ones fail', () => {
    const level = (npuHealth: number, npuFaultCodes: number[] = []) => new HealthTracker().update(npu, { npuHealth, npuFaultCodes }, [], [], 1);
    expect(level(0).state).toBe('healthy');
    expect(level(1)).toEqual({ state: 'degraded', reasons: ['NPU minor alarm (health 1)'] });
    expect(level(2)).toMatchObject({ state: 'unhealthy', reasons: ['NPU major alarm (health 2)'] });
    expect(level(3)).toMatchObject({ state: 'unhealthy', reasons: ['NPU critical alarm (health 3)'] });
    expect(level(0xffffffff)).toMatchObject({ state: 'unhealthy', reasons: ['NPU not present (health 0xFFFFFFFF)'] });
    expect(level(0, [0x80fa4e00])).toEqual({ state: 'degraded', reasons: ['NPU fault codes: 0x80FA4E00'] });
    // A RestartNPU code (the device plugin's class) needs a reset: diagnose fails it, so health is unhealthy.
    expect(level(0, [0x80e24e00, 0x80fa4e00])).toMatchObject({ state: 'unhealthy', reasons: ['NPU fault codes: 0x80E24E00, 0x80FA4E00'] });
    expect(level(2, [0x80e24e00]).reasons).toEqual(['NPU major alarm (health 2)', 'NPU fault codes: 0x80E24E00']);
  });

  it('ignores XIDs for Ascend devices and keeps devices apart', () => {
    const t = new HealthTracker();
    expect(t.update(npu, { npuHealth: 0 }, [], [xid(79)], 1).state).toBe('healthy');
    t.update(gpu, clean, [], [xid(79)], 1);
    expect(t.update({ ...gpu, index: 1 }, clean, [], [], 2).state).toBe('healthy');
  });
});
