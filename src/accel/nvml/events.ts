/**
 * XID and ECC events: a worker thread loops on nvmlEventSetWait_v2 and posts what it sees; this
 * side stamps the time and hands the events to the backend's listeners. The main thread never
 * calls a blocking NVML function.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/logger.js';
import type { AccelEvent } from '../types.js';
import { type EventWorkerData, type EventWorkerMessage, eventWorkerSource } from './events-worker.js';
import { nvmlError } from './returns.js';

export interface NvmlEventsOptions {
  readonly libraryPath: string;
  readonly deviceCount: number;
  readonly log: Logger;
  readonly emit: (event: AccelEvent) => void;
  /** nvmlEventSetWait_v2 timeout; also bounds how long stop() waits for the thread. */
  readonly waitTimeoutMs?: number;
}

const KOFFI_PATH = createRequire(import.meta.url).resolve('koffi');

export class NvmlEvents {
  private worker?: Worker;
  private readonly stopFlag = new SharedArrayBuffer(4);
  private exited?: Promise<void>;
  private readyResolve?: () => void;
  /** Resolves once every device is registered (or the thread has given up). */
  readonly ready: Promise<void> = new Promise((resolve) => (this.readyResolve = resolve));

  constructor(private readonly opts: NvmlEventsOptions) {}

  start(): void {
    if (this.worker !== undefined) return;
    const data: EventWorkerData = {
      libraryPath: this.opts.libraryPath,
      deviceCount: this.opts.deviceCount,
      stop: this.stopFlag,
      timeoutMs: this.opts.waitTimeoutMs ?? 1000,
    };
    const worker = new Worker(eventWorkerSource(KOFFI_PATH), { eval: true, workerData: data, name: 'brixlet-nvml-events' });
    this.worker = worker;
    worker.unref();
    worker.on('message', (m: EventWorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      this.opts.log.error({ err }, 'NVML event thread crashed');
      this.opts.emit({ kind: 'event-error', error: { api: 'nvmlEventThread', code: 'THREAD_ERROR', value: -1 }, at: Date.now() });
    });
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.exited.then(() => this.readyResolve?.());
  }

  private onMessage(m: EventWorkerMessage): void {
    const at = Date.now();
    switch (m.kind) {
      case 'ready':
        this.opts.log.debug({ registered: m.registered }, 'NVML events registered');
        this.readyResolve?.();
        return;
      case 'xid':
        return this.opts.emit({ kind: 'xid', index: m.index, xid: m.xid, at });
      case 'ecc':
        return this.opts.emit({ kind: 'ecc', index: m.index, type: m.type, at });
      case 'register-error':
        this.opts.log.warn({ index: m.index, error: nvmlError(m.api, m.value) }, 'cannot register NVML events for a GPU: its XIDs are not seen');
        return;
      case 'event-error':
        this.opts.log.error({ error: nvmlError(m.api, m.value) }, 'NVML event wait failed: XIDs are no longer seen');
        return this.opts.emit({ kind: 'event-error', error: nvmlError(m.api, m.value), at });
    }
  }

  /** Asks the loop to stop after its current wait; terminates the thread if it does not exit in time. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined || this.exited === undefined) return;
    Atomics.store(new Int32Array(this.stopFlag), 0, 1);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), (this.opts.waitTimeoutMs ?? 1000) + 1000)));
    const late = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) await worker.terminate();
    this.worker = undefined;
  }
}
