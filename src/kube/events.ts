/**
 * A Kubernetes event recorder: core/v1 Events about an object (what `kubectl describe` and
 * `kubectl get events` show), written in the background so reconciling never waits on them or
 * fails because of them. Like client-go's correlator, a repeat of the same event (object, type,
 * reason, message) within the aggregation window patches `count` and `lastTimestamp` of the event
 * already written instead of adding objects, and each object has a token bucket so a crash-looping
 * replica cannot flood the API server. Failures are logged and counted, never thrown.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import { toKubeError } from './kube-error.js';

/** The object an event is about. */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Omitted for cluster-scoped objects (their events go to `default`, as client-go does). */
  readonly namespace?: string;
  readonly uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  readonly kube: { readonly kubeConfig: KubeConfig };
  /** `source.component` / `reportingComponent`, e.g. `brixlet-orchestrator`. */
  readonly component: string;
  /** `reportingInstance` and `source.host`: the coordinator pod, say. */
  readonly instance?: string;
  /** Repeats within this window are folded into one event; default 10 min. */
  readonly aggregateWindowMs?: number;
  /** Events allowed per object in a burst; default 25. */
  readonly burst?: number;
  /** One more event per object is allowed every this many ms; default 5 min. */
  readonly refillMs?: number;
  /** Distinct events remembered for folding; default 4096 (oldest forgotten first). */
  readonly cacheSize?: number;
  readonly now?: () => number;
  readonly log: Logger;
}

export interface EventRecorderStats {
  readonly created: number;
  readonly patched: number;
  /** Refused by the per-object rate limit. */
  readonly dropped: number;
  /** API writes that failed (logged). */
  readonly failed: number;
}

export interface EventRecorder extends Disposable {
  record(obj: InvolvedObject, type: EventType, reason: string, message: string): void;
  normal(obj: InvolvedObject, reason: string, message: string): void;
  warning(obj: InvolvedObject, reason: string, message: string): void;
  /** Resolves once every event recorded so far has been written (or has failed). */
  flush(): Promise<void>;
  readonly stats: EventRecorderStats;
}

/** Messages longer than this many UTF-8 bytes are cut (the API server's own limit is 1 KiB for events.k8s.io notes). */
export const EVENT_MESSAGE_LIMIT = 1024;

/** Cuts `message` to at most `limit` UTF-8 bytes, on a character boundary, marking the cut with `…`. */
export function capMessage(message: string, limit = EVENT_MESSAGE_LIMIT): string {
  if (Buffer.byteLength(message) <= limit) return message;
  const budget = limit - Buffer.byteLength('…');
  let out = '';
  let size = 0;
  for (const ch of message) {
    const n = Buffer.byteLength(ch);
    if (size + n > budget) break;
    out += ch;
    size += n;
  }
  return `${out}…`;
}

interface Written {
  name: string;
  namespace: string;
  count: number;
  lastMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** RFC 3339 to the second, as metav1.Time is written. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const objectKey = (o: InvolvedObject): string => o.uid ?? `${o.apiVersion}/${o.kind}/${o.namespace ?? ''}/${o.name}`;

export function createEventRecorder(opts: EventRecorderOptions): EventRecorder {
  const api = opts.kube.kubeConfig.makeApiClient(CoreV1Api);
  const now = opts.now ?? Date.now;
  const window = opts.aggregateWindowMs ?? 600_000;
  const burst = opts.burst ?? 25;
  const refillMs = opts.refillMs ?? 300_000;
  const cacheSize = opts.cacheSize ?? 4096;
  const log = opts.log.child({ component: 'events' });
  /** Insertion-ordered: the first key is the least recently written. */
  const written = new Map<string, Written>();
  const buckets = new Map<string, Bucket>();
  /** Writes for one event key run one after another, so a repeat patches what the first created. */
  const chains = new Map<string, Promise<void>>();
  const stats = { created: 0, patched: 0, dropped: 0, failed: 0 };
  let seq = 0;
  let disposed = false;

  function allow(key: string, at: number): boolean {
    const held = buckets.get(key);
    let tokens = held?.tokens ?? burst;
    let since = held?.at ?? at;
    const refills = Math.floor((at - since) / refillMs);
    if (refills > 0) {
      tokens = Math.min(burst, tokens + refills);
      since = tokens === burst ? at : since + refills * refillMs;
    }
    const ok = tokens >= 1;
    buckets.delete(key); // re-inserted last: the map's order is least recently used first
    buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: since });
    if (buckets.size > cacheSize) buckets.delete(buckets.keys().next().value as string);
    return ok;
  }

  function eventName(obj: InvolvedObject, at: number): string {
    // client-go uses `<name>.<unix nanos in hex>`; a sequence keeps names unique within one millisecond.
    const suffix = (BigInt(at) * 1_000_000n + BigInt(seq++ % 1_000_000)).toString(16);
    return `${obj.name.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }

  /** `at` is when record() was called: the event's time, however long the write queued. */
  async function write(obj: InvolvedObject, type: EventType, reason: string, message: string, key: string, at: number): Promise<void> {
    const namespace = obj.namespace ?? 'default';
    const seen = written.get(key);
    if (seen && at - seen.lastMs < window) {
      try {
        await api.patchNamespacedEvent({ namespace: seen.namespace, name: seen.name, body: { count: seen.count + 1, lastTimestamp: rfc3339(at) } }, mergePatch);
        seen.count += 1;
        seen.lastMs = at;
        written.delete(key);
        written.set(key, seen);
        stats.patched++;
        return;
      } catch (err) {
        const e = toKubeError(err, `patch event ${seen.namespace}/${seen.name}`);
        if (e.status !== 404) throw e;
        written.delete(key); // expired or deleted meanwhile: write a fresh one
      }
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(obj, at), namespace },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name, ...(obj.namespace ? { namespace: obj.namespace } : {}), ...(obj.uid ? { uid: obj.uid } : {}) },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: rfc3339(at),
      lastTimestamp: rfc3339(at),
      source: { component: opts.component, ...(opts.instance ? { host: opts.instance } : {}) },
      reportingComponent: opts.component,
      reportingInstance: opts.instance ?? '',
    } as unknown as CoreV1Event; // timestamps as strings: the client passes non-Date values through
    let created: CoreV1Event;
    try {
      created = await api.createNamespacedEvent({ namespace, body });
    } catch (err) {
      throw toKubeError(err, `create event in ${namespace}`);
    }
    stats.created++;
    written.set(key, { name: created.metadata?.name ?? body.metadata?.name ?? '', namespace, count: 1, lastMs: at });
    if (written.size > cacheSize) written.delete(written.keys().next().value as string);
  }

  function record(obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    if (disposed) return;
    const text = capMessage(message);
    const key = `${objectKey(obj)}\u0000${type}\u0000${reason}\u0000${text}`;
    const at = now();
    if (!allow(objectKey(obj), at)) {
      stats.dropped++;
      log.debug({ object: `${obj.kind}/${obj.name}`, reason }, 'event dropped by the per-object rate limit');
      return;
    }
    const previous = chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => write(obj, type, reason, text, key, at))
      .catch((err: unknown) => {
        stats.failed++;
        log.warn({ err, object: `${obj.kind}/${obj.namespace ?? ''}/${obj.name}`, reason }, 'could not write an event');
      })
      .finally(() => {
        if (chains.get(key) === next) chains.delete(key);
      });
    chains.set(key, next);
  }

  async function flush(): Promise<void> {
    while (chains.size > 0) await Promise.all([...chains.values()]);
  }

  return {
    name: 'event recorder',
    record,
    normal: (obj, reason, message) => record(obj, 'Normal', reason, message),
    warning: (obj, reason, message) => record(obj, 'Warning', reason, message),
    flush,
    get stats() {
      return { ...stats };
    },
    async dispose() {
      disposed = true;
      await flush();
    },
  };
}
