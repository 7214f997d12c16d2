import { describe, expect, it } from 'vitest';
import { findLibrary, isCudaStub, libraryCandidates } from '../../src/accel/discovery.js';

const only = (...paths: string[]) => (p: string) => paths.includes(p);

describe('findLibrary (nvml)', () => {
  it('uses the configured path when it exists, without searching', () => {
    const seen: string[] = [];
    const found = findLibrary('nvml', { configured: '/opt/x/libnvidia-ml.so.1', exists: (p) => (seen.push(p), true) });
    expect(found).toEqual({ path: '/opt/x/libnvidia-ml.so.1' });
    expect(seen).toEqual(['/opt/x/libnvidia-ml.so.1']);
  });

  it('reports a configured path that does not exist as absent instead of falling back to a search', () => {
    const found = findLibrary('nvml', { configured: '/nope/libnvidia-ml.so.1', exists: only('/usr/lib64/libnvidia-ml.so.1') });
    expect(found).toEqual({ absent: expect.stringContaining('/nope/libnvidia-ml.so.1') });
  });

  it('treats a configured CUDA stub as absent even though the file exists', () => {
    const stub = '/usr/local/cuda/lib64/stubs/libnvidia-ml.so';
    expect(findLibrary('nvml', { configured: stub, exists: () => true })).toEqual({ absent: expect.stringContaining('CUDA stub') });
  });

  it('prefers the dynamic linker soname over driver folders', () => {
    expect(findLibrary('nvml', { configured: '', exists: () => true })).toEqual({ path: 'libnvidia-ml.so.1' });
  });

  it('falls back to the known driver folders in order', () => {
    const exists = only('/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.1', '/usr/lib/libnvidia-ml.so.1');
    expect(findLibrary('nvml', { configured: '', exists })).toEqual({ path: '/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.1' });
  });

  it("finds the GPU operator's driver root for the host architecture, and the /host mount", () => {
    const x64 = '/run/nvidia/driver/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1';
    const arm = '/run/nvidia/driver/usr/lib/aarch64-linux-gnu/libnvidia-ml.so.1';
    expect(findLibrary('nvml', { configured: '', exists: only(x64, arm), arch: 'arm64' })).toEqual({ path: arm });
    expect(findLibrary('nvml', { configured: '', exists: only(x64, arm), arch: 'x64' })).toEqual({ path: x64 });
    const hosted = '/host/usr/lib64/libnvidia-ml.so.1';
    expect(findLibrary('nvml', { configured: '', exists: only(hosted) })).toEqual({ path: hosted });
    expect(findLibrary('nvml', { configured: '', exists: only('/host/run/nvidia/driver/usr/lib64/libnvidia-ml.so.1') })).toEqual({
      path: '/host/run/nvidia/driver/usr/lib64/libnvidia-ml.so.1',
    });
  });

  it('never searches a CUDA stubs folder', () => {
    for (const arch of ['x64', 'arm64']) expect(libraryCandidates('nvml', arch).filter(isCudaStub)).toEqual([]);
  });

  it('is absent with a message naming the library when nothing exists', () => {
    const found = findLibrary('nvml', { configured: '', exists: () => false });
    expect(found).toEqual({ absent: expect.stringMatching(/^libnvidia-ml\.so\.1 not found/) });
  });
});

describe('findLibrary (dcmi)', () => {
  it('searches the Ascend driver paths in order, then the same under /host', () => {
    const candidates = libraryCandidates('dcmi');
    expect(candidates.slice(0, 5)).toEqual([
      '/usr/local/dcmi/libdcmi.so',
      '/usr/local/Ascend/driver/lib64/driver/libdcmi.so',
      '/usr/local/Ascend/driver/lib64/libdcmi.so',
      '/usr/local/Ascend/driver/lib64/common/libdcmi.so',
      '/usr/local/lib/libdcmi.so',
    ]);
    expect(candidates.slice(5)).toEqual(candidates.slice(0, 5).map((p) => `/host${p}`));
    const exists = only('/usr/local/lib/libdcmi.so', '/usr/local/Ascend/driver/lib64/common/libdcmi.so');
    expect(findLibrary('dcmi', { configured: '', exists })).toEqual({ path: '/usr/local/Ascend/driver/lib64/common/libdcmi.so' });
    expect(findLibrary('dcmi', { configured: '', exists: only('/host/usr/local/dcmi/libdcmi.so') })).toEqual({ path: '/host/usr/local/dcmi/libdcmi.so' });
  });

  it('honours a configured path and is absent without one that exists', () => {
    expect(findLibrary('dcmi', { configured: '/x/libdcmi.so', exists: only('/x/libdcmi.so') })).toEqual({ path: '/x/libdcmi.so' });
    expect(findLibrary('dcmi', { configured: '', exists: () => false })).toEqual({ absent: expect.stringMatching(/^libdcmi\.so not found/) });
  });
});
