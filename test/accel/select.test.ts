import { describe, expect, it } from 'vitest';
import { openBackends, parseAccelSpec } from '../../src/accel/select.js';
import { silentLog } from '../helpers/apps.js';

const nowhere = { nvmlLibrary: '/nonexistent/libnvidia-ml.so.1', dcmiLibrary: '/nonexistent/libdcmi.so', log: silentLog, env: {} };

describe('parseAccelSpec', () => {
  it.each(['auto', 'nvml', 'dcmi', 'none'] as const)('%s', (kind) => expect(parseAccelSpec(kind)).toEqual({ kind }));

  it('takes a scenario name or path after sim:', () => {
    expect(parseAccelSpec('sim:healthy-8x-h100')).toEqual({ kind: 'sim', scenario: 'healthy-8x-h100' });
    expect(parseAccelSpec('sim:./x/y.json')).toEqual({ kind: 'sim', scenario: './x/y.json' });
  });

  it.each(['', 'sim:', 'cuda', 'NVML'])('rejects %j with a catalog error', (spec) => {
    expect(() => parseAccelSpec(spec)).toThrow(expect.objectContaining({ code: 'BRX_ERR_ACCEL_UNAVAILABLE' }));
  });
});

describe('openBackends', () => {
  it('none opens nothing', async () => {
    expect(await openBackends('none', nowhere)).toEqual([]);
  });

  it('auto drops vendors whose library is absent', async () => {
    expect(await openBackends('auto', nowhere)).toEqual([]);
  });

  it('an explicit vendor is kept (and opened) even when its library is absent', async () => {
    const [nvml] = await openBackends('nvml', nowhere);
    expect(nvml?.status()).toMatchObject({ kind: 'nvml', vendor: 'nvidia', state: 'absent', message: expect.stringContaining('/nonexistent/libnvidia-ml.so.1') });
    expect(nvml?.devices()).toEqual([]);
    const [dcmi] = await openBackends('dcmi', nowhere);
    expect(dcmi?.status()).toMatchObject({ kind: 'dcmi', vendor: 'ascend', state: 'absent' });
    await Promise.all([nvml?.close(), dcmi?.close()]);
  });

  it('falls back to BRIXLET_NVML_LIBRARY when no library is configured', async () => {
    const [nvml] = await openBackends('nvml', { ...nowhere, nvmlLibrary: '', env: { BRIXLET_NVML_LIBRARY: '/env/path/libnvidia-ml.so.1' } });
    expect(nvml?.status().message).toContain('/env/path/libnvidia-ml.so.1');
  });

  it('sim:<name> opens one backend per vendor section of the scenario', async () => {
    const backends = await openBackends('sim:healthy-8x-h100', nowhere);
    expect(backends.map((b) => [b.kind, b.vendor, b.status().state])).toEqual([['sim', 'nvidia', 'up']]);
    expect(backends[0]?.devices()).toHaveLength(8);
    await Promise.all(backends.map((b) => b.close()));
  });

  it('sim with an unknown scenario name is a scenario error', async () => {
    await expect(openBackends('sim:no-such-scenario', nowhere)).rejects.toMatchObject({ code: 'BRX_ERR_ACCEL_SCENARIO' });
  });
});
