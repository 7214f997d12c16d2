/**
 * The main thread's side of the NVML read thread (read-worker.ts). Group reads are batched per
 * microtask into one message (the sampler reads one group of every GPU at once), and answered by
 * one message. No message is sent per native call: the thread stamps each call in a CallWatch, and
 * while reads are outstanding a watchdog checks that stamp every callTimeout/4. A call older than
 * the timeout blocks its device (NvmlLibrary.noteStuck, so `blocked`, MAX_STUCK_CALLS, close() and
 * the _exit safeguard behave as for a stuck async call); its thread is set aside, still referenced,
 * until the call returns and it can be terminated, and the other outstanding reads go to a fresh
 * thread.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/logger.js';
import { CALL_TIMEOUT, type GroupRead, type ProbeGroup } from '../types.js';
import { CallWatch, READ_PROTOCOL } from './call-watch.js';
import type { NvmlLibrary, StuckCall } from './library.js';
import type { ReadRequest, ReadWorkerData, ReadWorkerInput, ReadWorkerOutput } from './read-worker.js';

/**
 * The compiled read thread entry: `read-worker.js` beside this module (dist/, dist-bench/), else, when
 * this module is the TypeScript source (vitest: worker threads cannot run .ts on Node 20), the build
 * in `<repo>/dist`; undefined when neither exists.
 */
export function readWorkerEntry(moduleUrl: string = import.meta.url, exists: (path: string) => boolean = existsSync): string | undefined {
  const here = fileURLToPath(moduleUrl);
  const sibling = join(dirname(here), 'read-worker.js');
  if (exists(sibling)) return sibling;
  if (!here.endsWith('.ts')) return undefined;
  const built = resolve(dirname(here), '../../../dist/accel/nvml/read-worker.js');
  return exists(built) ? built : undefined;
}

export interface NvmlReadThreadOptions {
  /** The main thread's library: its stuck-call bookkeeping is the one `blocked` reads. */
  readonly lib: NvmlLibrary;
  readonly entry: string;
  readonly log: Logger;
  /** Reads the thread cannot serve (it failed to start): the backend's in-process path. */
  readonly fallback: (index: number, group: ProbeGroup) => Promise<GroupRead>;
}

interface Pending extends ReadRequest {
  readonly resolve: (read: GroupRead) => void;
  readonly reject: (err: Error) => void;
}

interface ReadWorker {
  readonly worker: Worker;
  readonly watch: CallWatch;
  readonly pending: Map<number, Pending>;
  ready: boolean;
  /** Set once its call did not return in time. */
  stuck?: StuckCall;
}

const empty = (): GroupRead => ({ values: {}, errors: [], unsupported: [] });

/** A read answered without a call: the device (or all of NVML) is blocked by a stuck call. */
export function blockedRead(why: { readonly api: string; readonly message: string }): GroupRead {
  return { values: {}, errors: [{ api: why.api, code: CALL_TIMEOUT, value: -1, message: why.message }], unsupported: [] };
}

export class NvmlReadThread {
  private current?: ReadWorker;
  private readonly setAside = new Set<ReadWorker>();
  private queue: Pending[] = [];
  private flushing = false;
  private nextId = 1;
  private timer?: NodeJS.Timeout;
  /** Set when close() starts: new reads answer empty while the outstanding ones finish. */
  private closing = false;
  /** Why the thread cannot run (it failed to start): every read goes to the fallback. */
  private unavailable?: string;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: NvmlReadThreadOptions) {}

  /** 'thread' while reads go to the read thread, 'in-process' once it could not start. */
  get mode(): 'thread' | 'in-process' {
    return this.unavailable === undefined ? 'thread' : 'in-process';
  }

  /** Threads set aside with a call that has not returned (each also counts in lib.stuck). */
  get stuckThreads(): number {
    return this.setAside.size;
  }

  read(index: number, group: ProbeGroup): Promise<GroupRead> {
    return new Promise((resolve, reject) => this.dispatch({ id: this.nextId++, index, group, resolve, reject }));
  }

  private dispatch(p: Pending): void {
    const blocked = this.opts.lib.blocked(p.index);
    if (blocked !== undefined) return p.resolve(blockedRead(blocked));
    if (this.closing) return p.resolve(empty());
    if (this.unavailable !== undefined) return void this.opts.fallback(p.index, p.group).then(p.resolve, p.reject);
    this.queue.push(p);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const w = this.current ?? this.spawn();
    if (w === undefined) {
      for (const p of batch) this.dispatch(p);
      return;
    }
    for (const p of batch) w.pending.set(p.id, p);
    const message: ReadWorkerInput = { kind: 'read', reads: batch.map(({ id, index, group }) => ({ id, index, group })) };
    w.worker.postMessage(message);
    this.watchdog();
  }

  private spawn(): ReadWorker | undefined {
    const watch = new CallWatch();
    const workerData: ReadWorkerData = { kind: 'brixlet-nvml-read', protocol: READ_PROTOCOL, libraryPath: this.opts.lib.path, watch: watch.buffer };
    let worker: Worker;
    try {
      worker = new Worker(this.opts.entry, { workerData, name: 'brixlet-nvml-read' });
    } catch (err) {
      this.giveUp(`cannot start ${this.opts.entry}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    // Never what keeps the process up; a thread stuck in C is left to the _exit safeguard at exit.
    worker.unref();
    const w: ReadWorker = { worker, watch, pending: new Map(), ready: false };
    worker.on('message', (m: ReadWorkerOutput) => this.onMessage(w, m));
    worker.on('error', (err) => this.onGone(w, err.message));
    worker.on('exit', (code) => this.onGone(w, `exited with code ${code}`));
    this.current = w;
    return w;
  }

  private onMessage(w: ReadWorker, m: ReadWorkerOutput): void {
    switch (m.kind) {
      case 'ready':
        w.ready = true;
        return;
      case 'failed':
        this.opts.log.warn({ reason: m.message }, 'NVML read thread cannot serve: reading on the thread pool instead');
        this.retire(w);
        return this.giveUp(m.message, w);
      case 'returned':
        return this.release(w);
      case 'done':
        // A thread set aside answers only if its call returned before it saw it was abandoned.
        if (w.stuck !== undefined) this.release(w);
        for (const r of m.results) {
          const p = w.pending.get(r.id);
          if (p === undefined) continue;
          w.pending.delete(r.id);
          if ('read' in r) p.resolve(r.read);
          else p.reject(new Error(r.error));
        }
        return this.settle();
    }
  }

  /** A thread that ended or crashed: one that never got ready means no thread at all, else its reads fail and the next read starts another. */
  private onGone(w: ReadWorker, why: string): void {
    if (w.stuck !== undefined) return this.release(w);
    if (this.current !== w) return;
    this.current = undefined;
    if (!w.ready) return this.giveUp(why, w);
    this.opts.log.warn({ reason: why }, 'NVML read thread ended: the next read starts another');
    for (const p of w.pending.values()) p.reject(new Error(`NVML read thread ${why}`));
    w.pending.clear();
    this.settle();
  }

  private giveUp(why: string, w?: ReadWorker): void {
    if (this.unavailable === undefined) this.opts.log.debug({ reason: why }, 'NVML reads run in process');
    this.unavailable = why;
    if (w === undefined) return;
    const pending = [...w.pending.values()];
    w.pending.clear();
    for (const p of pending) this.dispatch(p);
    this.settle();
  }

  private retire(w: ReadWorker): void {
    if (this.current === w) this.current = undefined;
    void w.worker.terminate();
  }

  /** Runs while reads are outstanding; stops itself at the first tick with none. */
  private watchdog(): void {
    if (this.timer !== undefined) return;
    const period = Math.max(1, Math.floor(this.opts.lib.callTimeoutMs / 4));
    this.timer = setInterval(() => this.check(), period);
    this.timer.unref();
  }

  private check(): void {
    const w = this.current;
    if (w === undefined || w.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const call = w.watch.current();
    if (call === undefined || Date.now() - call.startedAt < this.opts.lib.callTimeoutMs) return;
    w.watch.abandon();
    w.stuck = this.opts.lib.noteStuck(call.label, call.device);
    this.current = undefined;
    this.setAside.add(w);
    this.opts.log.warn({ api: call.label, index: call.device, stuck: this.setAside.size }, 'NVML call did not return in time: its GPU is not read until it does');
    // Reads of the blocked device answer at once; the rest go to a fresh thread (none past MAX_STUCK_CALLS).
    const pending = [...w.pending.values()];
    w.pending.clear();
    for (const p of pending) this.dispatch(p);
    this.settle();
  }

  /** The stuck call of a thread set aside has returned: terminate the thread, then unblock its device. */
  private release(w: ReadWorker): void {
    if (!this.setAside.delete(w)) return;
    const stuck = w.stuck;
    this.opts.log.info({ api: stuck?.api, index: stuck?.device }, 'stuck NVML call returned');
    void w.worker.terminate().finally(() => stuck !== undefined && this.opts.lib.returned(stuck));
  }

  private settle(): void {
    if ((this.current?.pending.size ?? 0) > 0 || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Stops the thread once its outstanding reads are answered (the watchdog bounds that wait). A
   * thread whose nvmlShutdown does not return within callTimeout is left and counted stuck, like
   * the threads already set aside: the library then stays loaded.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if ((this.current?.pending.size ?? 0) > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    clearInterval(this.timer);
    this.timer = undefined;
    const w = this.current;
    this.current = undefined;
    if (w === undefined) return;
    const exited = new Promise<boolean>((resolve) => w.worker.once('exit', () => resolve(true)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.opts.lib.callTimeoutMs)));
    const stop: ReadWorkerInput = { kind: 'stop' };
    w.worker.postMessage(stop);
    const done = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (done) return;
    w.watch.abandon();
    w.stuck = this.opts.lib.noteStuck('nvmlShutdown', -1);
    this.setAside.add(w);
    this.opts.log.warn('NVML read thread did not stop in time: left running');
  }
}
