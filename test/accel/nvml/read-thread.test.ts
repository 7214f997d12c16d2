import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NvmlLibrary } from '../../../src/accel/nvml/library.js';
import { blockedRead, NvmlReadThread, readWorkerEntry } from '../../../src/accel/nvml/read-thread.js';
import { silentLog } from '../../helpers/apps.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-read-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readWorkerEntry', () => {
  const only = (...paths: string[]) => (p: string) => paths.includes(p);

  it('takes the compiled read-worker.js beside the running module', () => {
    expect(readWorkerEntry('file:///opt/brixlet/dist/accel/nvml/read-thread.js', only('/opt/brixlet/dist/accel/nvml/read-worker.js'))).toBe('/opt/brixlet/dist/accel/nvml/read-worker.js');
  });

  it('runs the sources (vitest) with the build in <repo>/dist, and nothing when there is none', () => {
    const url = 'file:///repo/src/accel/nvml/read-thread.ts';
    expect(readWorkerEntry(url, only('/repo/dist/accel/nvml/read-worker.js'))).toBe('/repo/dist/accel/nvml/read-worker.js');
    expect(readWorkerEntry(url, only())).toBeUndefined();
    // Compiled output without its worker is a broken build, not a reason to borrow another one.
    expect(readWorkerEntry('file:///x/dist/accel/nvml/read-thread.js', only('/dist/accel/nvml/read-worker.js'))).toBeUndefined();
  });
});

describe('NvmlReadThread', () => {
  const lib = { path: '/nonexistent/libnvidia-ml.so.1', callTimeoutMs: 2000, blocked: () => undefined } as unknown as NvmlLibrary;

  it('reads in process when the thread cannot start, and answers the reads it was given', async () => {
    const entry = join(dir, 'broken-worker.mjs');
    writeFileSync(entry, "throw new Error('cannot start');\n");
    const thread = new NvmlReadThread({ lib, entry, log: silentLog, fallback: (index, group) => Promise.resolve({ values: { gpuTempC: index }, errors: [], unsupported: [group] }) });
    expect(thread.mode).toBe('thread');
    const reads = await Promise.all([thread.read(0, 'thermal'), thread.read(1, 'power')]);
    expect(reads).toEqual([
      { values: { gpuTempC: 0 }, errors: [], unsupported: ['thermal'] },
      { values: { gpuTempC: 1 }, errors: [], unsupported: ['power'] },
    ]);
    expect(thread.mode).toBe('in-process');
    expect(await thread.read(2, 'memory')).toEqual({ values: { gpuTempC: 2 }, errors: [], unsupported: ['memory'] });
    await thread.close();
  });

  it('answers a blocked device at once with the stuck call, without a thread', async () => {
    const why = { api: 'nvmlDeviceGetPowerUsage', message: 'nvmlDeviceGetPowerUsage did not return within 2000 ms' };
    const blocked = { ...lib, blocked: (index: number) => (index === 1 ? why : undefined) } as unknown as NvmlLibrary;
    const thread = new NvmlReadThread({ lib: blocked, entry: join(dir, 'never-started.mjs'), log: silentLog, fallback: () => Promise.reject(new Error('not called')) });
    expect(await thread.read(1, 'thermal')).toEqual(blockedRead(why));
    expect(blockedRead(why).errors).toEqual([{ api: 'nvmlDeviceGetPowerUsage', code: 'CALL_TIMEOUT', value: -1, message: why.message }]);
    await thread.close();
  });
});
