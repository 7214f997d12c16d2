import { describe, expect, it } from 'vitest';
import { ascendBusId, ascendUuid, DcmiBackend } from '../../../src/accel/dcmi/backend.js';
import { silentLog } from '../../helpers/apps.js';

describe('ascendUuid', () => {
  it('joins the five VDIE words as 8 lowercase hex digits each', () => {
    expect(ascendUuid([439041101, 66051, 67438087, 134810123, 202182159])).toBe('NPU-1a2b3c4d-00010203-04050607-08090a0b-0c0d0e0f');
  });

  it('keeps words above INT_MAX unsigned', () => {
    expect(ascendUuid(new Uint32Array([0xffffffff, 0x80000000, 0, 1, 0xdeadbeef]))).toBe('NPU-ffffffff-80000000-00000000-00000001-deadbeef');
  });
});

describe('ascendBusId', () => {
  it('formats domain, bus, device and function like NVML bus ids', () => {
    expect(ascendBusId(0, 193, 0, 0)).toBe('00000000:c1:00.0');
    expect(ascendBusId(0x10, 0x3d, 0x1f, 7)).toBe('00000010:3d:1f.7');
  });
});

describe('DcmiBackend without a library', () => {
  it('is absent, lists no devices, reads nothing and closes cleanly', async () => {
    const backend = new DcmiBackend({ library: '/nonexistent/libdcmi.so', log: silentLog, env: {} });
    const status = await backend.open();
    expect(status).toMatchObject({ kind: 'dcmi', vendor: 'ascend', state: 'absent' });
    expect(backend.status()).toBe(status);
    expect(backend.devices()).toEqual([]);
    expect(await backend.read(0, 'npu-health')).toEqual({ values: {}, errors: [], unsupported: [] });
    await backend.close();
  });
});
