/**
 * The NVML read thread's entry (run as compiled JavaScript, see read-thread.ts). It loads the library
 * itself, takes its own nvmlInit reference and device handles, and runs the same group readers as
 * the backend (groups.ts) with synchronous calls: a koffi async call costs 14-26 µs of CPU against
 * 0.24 µs for a synchronous one, and a sample makes about a thousand. Each call is stamped in the
 * shared CallWatch so the main thread can time it out; a batch of group reads is one message each
 * way.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { GroupRead, ProbeGroup } from '../types.js';
import { CallAbandoned, CallWatch, READ_PROTOCOL } from './call-watch.js';
import { readGroup } from './groups.js';
import { NvmlLibrary, Scratch } from './library.js';
import type { NvmlDevice } from './read-context.js';
import { NVML_SUCCESS, nvmlError } from './returns.js';

export interface ReadWorkerData {
  readonly kind: 'brixlet-nvml-read';
  readonly protocol: number;
  readonly libraryPath: string;
  readonly watch: SharedArrayBuffer;
}

export interface ReadRequest {
  readonly id: number;
  readonly index: number;
  readonly group: ProbeGroup;
}

export type ReadWorkerInput = { readonly kind: 'read'; readonly reads: readonly ReadRequest[] } | { readonly kind: 'stop' };

export type ReadResult = { readonly id: number; readonly read: GroupRead } | { readonly id: number; readonly error: string };

export type ReadWorkerOutput =
  | { readonly kind: 'ready' }
  /** The thread cannot serve (library, init or protocol): the backend reads in process instead. */
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'done'; readonly results: readonly ReadResult[] }
  /** An abandoned thread's stuck call has returned: it makes no further call and may be terminated. */
  | { readonly kind: 'returned' };

const INIT_FLAG_NO_GPUS = 1;
const NVML_ERROR_FUNCTION_NOT_FOUND = 13;

/** Serves read requests on `port` until told to stop; exported for tests. */
export async function serveReads(port: Pick<MessagePort, 'postMessage' | 'on'>, data: ReadWorkerData, exit: () => void): Promise<void> {
  const post = (m: ReadWorkerOutput): void => port.postMessage(m);
  if (data.protocol !== READ_PROTOCOL) return post({ kind: 'failed', message: `read thread speaks protocol ${READ_PROTOCOL}, the backend ${data.protocol} (stale build)` });
  const lib = NvmlLibrary.open(data.libraryPath);
  if (lib instanceof Error) return post({ kind: 'failed', message: `cannot load ${data.libraryPath}: ${lib.message}` });
  lib.watch = new CallWatch(data.watch);
  const devices = new Map<number, NvmlDevice>();
  // Reads run one after another and none follows a timed-out call: one out-parameter area serves all.
  const scratch = new Scratch();
  let abandoned = false;
  let initialized = false;
  // NVML counts init references per process: this thread holds its own, released when it leaves.
  const leave = (): void => {
    abandoned = true;
    if (initialized) lib.native.resolve('shutdown')?.fn();
    post({ kind: 'returned' });
  };

  try {
    const withFlags = lib.native.resolve('initWithFlags');
    const init = withFlags ?? lib.native.resolve('init');
    const rc = init === undefined ? NVML_ERROR_FUNCTION_NOT_FOUND : await lib.invoke(init.fn, init.name, -1, withFlags !== undefined ? [INIT_FLAG_NO_GPUS] : []);
    if (rc !== NVML_SUCCESS) return post({ kind: 'failed', message: `${init?.name ?? 'nvmlInitWithFlags'} returned ${rc} in the read thread` });
    initialized = true;
  } catch (err) {
    if (err instanceof CallAbandoned) return leave();
    throw err;
  }

  const readOne = async (r: ReadRequest): Promise<GroupRead> => {
    let device = devices.get(r.index);
    if (device === undefined) devices.set(r.index, (device = { index: r.index, unsupported: new Set() }));
    if (device.handle === undefined) {
      const byIndex = lib.native.resolve('handleByIndex');
      const rc = byIndex === undefined ? NVML_ERROR_FUNCTION_NOT_FOUND : await lib.invoke(byIndex.fn, byIndex.name, r.index, [r.index, lib.scratch.slots[0]]);
      if (rc !== NVML_SUCCESS) return { values: {}, errors: [nvmlError(byIndex?.name ?? 'nvmlDeviceGetHandleByIndex_v2', rc)], unsupported: [] };
      device.handle = lib.scratch.view.getBigUint64(0, true);
    }
    return readGroup(lib, device, r.group, scratch);
  };

  const serve = async (reads: readonly ReadRequest[]): Promise<void> => {
    const results: ReadResult[] = [];
    for (const r of reads) {
      try {
        results.push({ id: r.id, read: await readOne(r) });
      } catch (err) {
        if (err instanceof CallAbandoned) return leave();
        results.push({ id: r.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
    post({ kind: 'done', results });
  };

  port.on('message', (m: ReadWorkerInput) => {
    if (abandoned) return;
    if (m.kind === 'read') {
      void serve(m.reads);
      return;
    }
    abandoned = true;
    lib.native.resolve('shutdown')?.fn();
    exit();
  });
  post({ kind: 'ready' });
}

const data = workerData as Partial<ReadWorkerData> | undefined;
if (parentPort !== null && data?.kind === 'brixlet-nvml-read') {
  const port = parentPort;
  void serveReads(port, data as ReadWorkerData, () => port.close());
}
