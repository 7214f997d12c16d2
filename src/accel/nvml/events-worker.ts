/**
 * The body of the NVML event thread. nvmlEventSetWait_v2 blocks for up to its timeout, so it runs
 * in a worker_threads Worker, never on the main loop. The function is shipped to the worker as
 * source text (`eventWorkerSource`), which works the same from compiled dist/ and from src/ under
 * vitest: it must therefore be self-contained, referencing nothing outside its own body.
 */

export interface EventWorkerData {
  readonly libraryPath: string;
  readonly deviceCount: number;
  /** Int32Array[0] set to 1 by the main thread to stop the loop between waits. */
  readonly stop: SharedArrayBuffer;
  readonly timeoutMs: number;
}

export type EventWorkerMessage =
  | { readonly kind: 'ready'; readonly registered: readonly number[] }
  | { readonly kind: 'xid'; readonly index: number; readonly xid: number }
  | { readonly kind: 'ecc'; readonly index: number; readonly type: 'sbe' | 'dbe' }
  /** Registration of one device failed: its events are missed, the others still flow. */
  | { readonly kind: 'register-error'; readonly index: number; readonly api: string; readonly value: number }
  /** The event source is gone: the loop has stopped. */
  | { readonly kind: 'event-error'; readonly api: string; readonly value: number };

interface Port {
  postMessage(message: EventWorkerMessage): void;
}
interface Koffi {
  load(path: string, options: { lazy: boolean }): { func(name: string, result: string, params: string[]): (...args: unknown[]) => number };
}

export function eventWorkerMain(port: Port, data: EventWorkerData, koffi: Koffi): void {
  const SUCCESS = 0;
  const NOT_SUPPORTED = 3;
  const TIMEOUT = 10;
  const FUNCTION_NOT_FOUND = 13;
  const SBE = 0x1;
  const DBE = 0x2;
  const XID = 0x8;
  const lib = koffi.load(data.libraryPath, { lazy: true });
  const bind = (names: string[], params: string[]): { name: string; fn?: (...args: unknown[]) => number } => {
    for (const name of names) {
      try {
        return { name, fn: lib.func(name, 'int', params) };
      } catch {
        // not exported: next name
      }
    }
    return { name: names[0] ?? '' };
  };
  const create = bind(['nvmlEventSetCreate'], ['void *']);
  const byIndex = bind(['nvmlDeviceGetHandleByIndex_v2', 'nvmlDeviceGetHandleByIndex'], ['uint32_t', 'void *']);
  const supported = bind(['nvmlDeviceGetSupportedEventTypes'], ['void *', 'void *']);
  const register = bind(['nvmlDeviceRegisterEvents'], ['void *', 'uint64_t', 'void *']);
  const wait = bind(['nvmlEventSetWait_v2', 'nvmlEventSetWait'], ['void *', 'void *', 'uint32_t']);
  const free = bind(['nvmlEventSetFree'], ['void *']);
  for (const api of [create, byIndex, register, wait]) {
    if (api.fn === undefined) return port.postMessage({ kind: 'event-error', api: api.name, value: FUNCTION_NOT_FOUND });
  }
  // nvmlEventData_t (v2): device pointer, eventType, eventData (the XID), gpu/compute instance ids.
  const out = new BigUint64Array(4);
  let rc = create.fn!(out);
  if (rc !== SUCCESS) return port.postMessage({ kind: 'event-error', api: create.name, value: rc });
  const set = out[0];
  const handles: (bigint | undefined)[] = [];
  const registered: number[] = [];
  for (let index = 0; index < data.deviceCount; index++) {
    rc = byIndex.fn!(index, out);
    if (rc !== SUCCESS) {
      handles.push(undefined);
      port.postMessage({ kind: 'register-error', index, api: byIndex.name, value: rc });
      continue;
    }
    const handle = out[0];
    handles.push(handle);
    let mask = XID | DBE | SBE;
    if (supported.fn !== undefined && supported.fn(handle, out) === SUCCESS) mask &= Number((out[0] ?? 0n) & 0xffffn);
    if (mask === 0) continue;
    rc = register.fn!(handle, mask, set);
    if (rc === SUCCESS) registered.push(index);
    else if (rc !== NOT_SUPPORTED) port.postMessage({ kind: 'register-error', index, api: register.name, value: rc });
  }
  port.postMessage({ kind: 'ready', registered });
  const stop = new Int32Array(data.stop);
  while (registered.length > 0 && Atomics.load(stop, 0) === 0) {
    out.fill(0n);
    rc = wait.fn!(set, out, data.timeoutMs);
    if (rc === TIMEOUT) continue;
    if (rc !== SUCCESS) {
      port.postMessage({ kind: 'event-error', api: wait.name, value: rc });
      break;
    }
    const index = handles.indexOf(out[0]);
    const type = Number((out[1] ?? 0n) & 0xffffn);
    if (type & XID) port.postMessage({ kind: 'xid', index, xid: Number(out[2]) });
    else if (type & DBE) port.postMessage({ kind: 'ecc', index, type: 'dbe' });
    else if (type & SBE) port.postMessage({ kind: 'ecc', index, type: 'sbe' });
  }
  free.fn?.(set);
}

/** Worker source (run with `eval: true`): the function above applied to the worker's port, data and koffi. */
export function eventWorkerSource(koffiPath: string): string {
  return [
    "const { parentPort, workerData } = require('node:worker_threads');",
    `(${eventWorkerMain.toString()})(parentPort, workerData, require(${JSON.stringify(koffiPath)}));`,
  ].join('\n');
}
