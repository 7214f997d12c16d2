import { describe, expect, it } from 'vitest';
import { pcie } from '../../../src/accel/probes/pcie.js';
import { H100_SAMPLE, declOf, gpu, seriesOf } from '../helpers/snapshot.js';

describe('pcie probe', () => {
  it('exports the replay counter under the dcgm-exporter name', () => {
    expect(seriesOf(pcie, 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', gpu(0, { pcieReplayCount: 17 }))).toEqual({ '': 17 });
    expect(declOf(pcie, 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER').type).toBe('counter');
    expect(seriesOf(pcie, 'brixlet_accelerator_pcie_replays_total', gpu(0, { pcieReplayCount: 17 }))).toEqual({ '': 17 });
  });

  it('exports current and max link generation and width (a degraded link shows the gap)', () => {
    const d = gpu(0, { pcieGen: 3, pcieGenMax: 5, pcieWidth: 8, pcieWidthMax: 16 });
    expect(seriesOf(pcie, 'brixlet_accelerator_pcie_link_generation', d)).toEqual({ 'kind=current': 3, 'kind=max': 5 });
    expect(seriesOf(pcie, 'brixlet_accelerator_pcie_link_width', d)).toEqual({ 'kind=current': 8, 'kind=max': 16 });
  });

  it('converts NVML KB/s throughput to bytes per second', () => {
    expect(seriesOf(pcie, 'DCGM_FI_PROF_PCIE_TX_BYTES', gpu(0, H100_SAMPLE))).toEqual({ '': 2048 * 1024 });
    expect(seriesOf(pcie, 'brixlet_accelerator_pcie_throughput_bytes_per_second', gpu(0, H100_SAMPLE))).toEqual({
      'direction=tx': 2048 * 1024,
      'direction=rx': 1024 * 1024,
    });
  });

  it('omits the max generation when only the current one was read', () => {
    expect(seriesOf(pcie, 'brixlet_accelerator_pcie_link_generation', gpu(0, { pcieGen: 4 }))).toEqual({ 'kind=current': 4 });
  });
});
