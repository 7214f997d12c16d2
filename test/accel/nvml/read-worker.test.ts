// The NVML read thread's entry run in-process on a fake port: it refuses to serve what it cannot
// (a backend of another protocol, a library that does not load) and says why, so the backend falls
// back to in-process reads. Reads through the real thread are in test/e2e/accel-nvml.test.ts.
import { describe, expect, it } from 'vitest';
import { READ_PROTOCOL } from '../../../src/accel/nvml/call-watch.js';
import { type ReadWorkerData, type ReadWorkerOutput, serveReads } from '../../../src/accel/nvml/read-worker.js';

function fakePort(): { posted: ReadWorkerOutput[]; port: Parameters<typeof serveReads>[0] } {
  const posted: ReadWorkerOutput[] = [];
  return { posted, port: { postMessage: (m: ReadWorkerOutput) => void posted.push(m), on: () => undefined } as never };
}

const data = (over: Partial<ReadWorkerData>): ReadWorkerData => ({
  kind: 'brixlet-nvml-read',
  protocol: READ_PROTOCOL,
  libraryPath: '/nonexistent/libnvidia-ml.so.1',
  watch: new SharedArrayBuffer(1024),
  ...over,
});

describe('NVML read thread entry', () => {
  it('refuses a backend speaking another protocol (a stale build) without loading anything', async () => {
    const { posted, port } = fakePort();
    await serveReads(port, data({ protocol: READ_PROTOCOL + 1 }), () => undefined);
    expect(posted).toEqual([{ kind: 'failed', message: expect.stringMatching(/stale build/) }]);
  });

  it('reports a library it cannot load instead of serving', async () => {
    const { posted, port } = fakePort();
    await serveReads(port, data({}), () => undefined);
    expect(posted).toEqual([{ kind: 'failed', message: expect.stringMatching(/^cannot load \/nonexistent\/libnvidia-ml\.so\.1/) }]);
  });
});
