import { describe, expect, it } from 'vitest';
import { NvmlBackend } from '../../../src/accel/nvml/backend.js';
import { silentLog } from '../../helpers/apps.js';

describe('NvmlBackend without a library', () => {
  it('is absent with the discovery message when nothing is found', async () => {
    const backend = new NvmlBackend({ log: silentLog, env: {}, exists: () => false });
    expect(await backend.open()).toMatchObject({ kind: 'nvml', vendor: 'nvidia', state: 'absent', message: expect.stringMatching(/^libnvidia-ml\.so\.1 not found/) });
    expect(backend.devices()).toEqual([]);
    expect(await backend.read(0, 'memory')).toEqual({ values: {}, errors: [], unsupported: [] });
    const off = backend.onEvent(() => undefined);
    off();
    await backend.close();
  });

  it('is failed, not absent, when a file exists but cannot be loaded', async () => {
    const backend = new NvmlBackend({ library: '/etc/hostname', log: silentLog, env: {}, exists: () => true });
    expect(await backend.open()).toMatchObject({ state: 'failed', libraryPath: '/etc/hostname', message: expect.stringContaining('cannot load /etc/hostname') });
    await backend.close();
  });

  it('opens once however often open() is called', async () => {
    let probes = 0;
    const backend = new NvmlBackend({ log: silentLog, env: {}, exists: () => (probes++, false) });
    const [a, b] = await Promise.all([backend.open(), backend.open()]);
    expect(a).toBe(b);
    expect(probes).toBeGreaterThan(0);
    const after = probes;
    await backend.open();
    expect(probes).toBe(after);
  });
});
