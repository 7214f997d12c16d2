/**
 * `--node-conditions`: mirrors the registry's verdict on each node into the Kubernetes Node object,
 * so the scheduler and operators see it: status condition `BrixletAcceleratorHealthy` (False with
 * reason UnhealthyAccelerator or AgentStale, True with AcceleratorsHealthy) and the taint
 * `brixlet.io/accelerator-unhealthy:NoSchedule` while False. Other conditions and taints are kept:
 * each write sends the whole list read just before with its resourceVersion, so a concurrent writer
 * (the kubelet) makes it a conflict, retried on a fresh read. Writes happen only when the Node
 * differs from the wanted state, and a report that changes nothing the Node shows (KV use) does not
 * even read it; failures are logged and retried with backoff, never thrown.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1NodeCondition, type V1Taint } from '@kubernetes/client-node';
import type { Disposable } from '../../common/lifecycle.js';
import type { Logger } from '../../common/logger.js';
import { KubeError, toKubeError } from '../../kube/kube-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { describeAccelerators, unhealthyAccelerators } from './node-health.js';
import type { NodeView } from './node-schemas.js';
import type { NodeEvent, Registry } from './registry.js';

export const CONDITION_TYPE = 'BrixletAcceleratorHealthy';
export const TAINT_KEY = 'brixlet.io/accelerator-unhealthy';
export const TAINT_EFFECT = 'NoSchedule';
/** Kubernetes keeps condition messages short; ours lists GPUs, so it is capped. */
const MESSAGE_LIMIT = 1024;
const CONFLICT_ATTEMPTS = 5;

export interface DesiredCondition {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: 'AcceleratorsHealthy' | 'UnhealthyAccelerator' | 'AgentStale' | 'AgentRemoved';
  readonly message: string;
  readonly taint: boolean;
}

/** What the Node should say about `node` (undefined: the agent was removed from the registry). */
export function desiredCondition(node: NodeView | undefined): DesiredCondition {
  if (node === undefined) {
    return { status: 'Unknown', reason: 'AgentRemoved', message: 'the node\'s brixlet agent was removed from the coordinator registry', taint: false };
  }
  const bad = unhealthyAccelerators(node);
  if (node.state === 'stale') {
    const last = bad.length > 0 ? `; unhealthy when last heard: ${describeAccelerators(bad)}` : '';
    return { status: 'False', reason: 'AgentStale', message: cap(`the brixlet agent has not reported since ${node.lastSeen}${last}`), taint: true };
  }
  if (bad.length > 0) return { status: 'False', reason: 'UnhealthyAccelerator', message: cap(describeAccelerators(bad)), taint: true };
  const n = node.accelerators?.length ?? 0;
  return { status: 'True', reason: 'AcceleratorsHealthy', message: n === 0 ? 'no accelerators reported' : `all ${n} accelerators healthy`, taint: false };
}

function sameDesired(a: DesiredCondition, b: DesiredCondition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message && a.taint === b.taint;
}

function cap(text: string): string {
  return text.length <= MESSAGE_LIMIT ? text : `${text.slice(0, MESSAGE_LIMIT - 1)}…`;
}

export interface NodeConditionsOptions {
  /** First retry delay after a failed write; doubles up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly now?: () => number;
}

export interface NodeConditions extends Disposable {
  /** Resolves when no write is running or queued (retries waiting on a timer do not count). */
  settled(): Promise<void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function startNodeConditions(registry: Registry, kube: KubeClient, log: Logger, opts: NodeConditionsOptions = {}): NodeConditions {
  const api = kube.kubeConfig.makeApiClient(CoreV1Api);
  const clog = log.child({ component: 'node-conditions' });
  const retryMs = opts.retryMs ?? 1000;
  const maxRetryMs = opts.maxRetryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const wanted = new Map<string, DesiredCondition>();
  /** What each Node was last brought to: a report that changes only KV use costs the API server nothing. */
  const applied = new Map<string, DesiredCondition>();
  const queued = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const failures = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const missing = new Set<string>();
  let disposed = false;

  function want(name: string, desired: DesiredCondition): void {
    const last = wanted.get(name);
    const done = applied.get(name);
    wanted.set(name, desired);
    // A retry is waiting out its backoff: it will take the latest wish.
    if (timers.has(name)) return;
    if (last !== undefined && done !== undefined && sameDesired(last, desired) && sameDesired(done, desired)) return;
    schedule(name);
  }

  function schedule(name: string): void {
    if (disposed) return;
    queued.add(name);
    if (!running.has(name)) running.set(name, drainNode(name));
  }

  async function drainNode(name: string): Promise<void> {
    // One write at a time per node; a change that arrives meanwhile is applied after it.
    try {
      while (queued.delete(name) && !disposed) {
        const desired = wanted.get(name);
        if (desired === undefined) break;
        try {
          await reconcile(name, desired);
          applied.set(name, desired);
          if (failures.has(name)) clog.info({ node: name }, 'node condition written again');
          failures.delete(name);
          missing.delete(name);
        } catch (err) {
          fail(name, desired, err);
        }
      }
    } finally {
      running.delete(name);
    }
  }

  function fail(name: string, desired: DesiredCondition, err: unknown): void {
    const kerr = toKubeError(err, `update node ${name}`);
    if (kerr.code === 'BRX_ERR_KUBE_NOT_FOUND') {
      // Not a Kubernetes node (brixlet up, a host name): nothing to mark; tried again when its state changes.
      if (!missing.has(name)) clog.warn({ node: name }, 'no Kubernetes Node of this name: its condition and taint are not set');
      missing.add(name);
      applied.set(name, desired);
      return;
    }
    applied.delete(name);
    // The backoff timer takes over, with whatever is wanted when it fires.
    queued.delete(name);
    clearTimeout(timers.get(name));
    const n = (failures.get(name) ?? 0) + 1;
    failures.set(name, n);
    const delay = Math.min(maxRetryMs, retryMs * 2 ** (n - 1));
    if (n === 1) clog.warn({ node: name, code: kerr.code, err: kerr.message, retryMs: delay }, 'setting the node condition failed; retrying');
    else clog.debug({ node: name, code: kerr.code, err: kerr.message, retryMs: delay }, 'setting the node condition failed again');
    if (disposed) return;
    const t = setTimeout(() => {
      timers.delete(name);
      schedule(name);
    }, delay);
    t.unref();
    timers.set(name, t);
  }

  async function reconcile(name: string, desired: DesiredCondition): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await writeOnce(name, desired);
        return;
      } catch (err) {
        const kerr = toKubeError(err, `update node ${name}`);
        if (kerr.code !== 'BRX_ERR_KUBE_CONFLICT' || attempt >= CONFLICT_ATTEMPTS) throw kerr;
        clog.debug({ node: name, attempt }, 'node changed under us; reading it again');
      }
    }
  }

  async function writeOnce(name: string, desired: DesiredCondition): Promise<void> {
    let node = await call(`get node ${name}`, () => api.readNode({ name }));
    const stamp = kubeTime(new Date(now()));
    const conditions = (node.status?.conditions ?? []).map(plainCondition);
    const current = conditions.find((c) => c.type === CONDITION_TYPE);
    if (current === undefined || current.status !== desired.status || current.reason !== desired.reason || current.message !== desired.message) {
      const next: PlainCondition = {
        type: CONDITION_TYPE,
        status: desired.status,
        reason: desired.reason,
        message: desired.message,
        lastHeartbeatTime: stamp,
        lastTransitionTime: current !== undefined && current.status === desired.status && current.lastTransitionTime !== undefined ? current.lastTransitionTime : stamp,
      };
      const list = current === undefined ? [...conditions, next] : conditions.map((c) => (c === current ? next : c));
      node = await call(`patch status of node ${name}`, () =>
        api.patchNodeStatus({ name, body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, status: { conditions: list } } }, mergePatch),
      );
      clog.info({ node: name, status: desired.status, reason: desired.reason }, `node condition ${CONDITION_TYPE} set`);
    }
    const taints = (node.spec?.taints ?? []).map(plainTaint);
    const ours = (t: PlainTaint): boolean => t.key === TAINT_KEY && t.effect === TAINT_EFFECT;
    const has = taints.some(ours);
    if (desired.taint === has) return;
    const list = desired.taint ? [...taints, { key: TAINT_KEY, effect: TAINT_EFFECT, timeAdded: stamp }] : taints.filter((t) => !ours(t));
    await call(`patch taints of node ${name}`, () =>
      api.patchNode({ name, body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: list.length > 0 ? list : null } } }, mergePatch),
    );
    clog.info({ node: name, taint: `${TAINT_KEY}:${TAINT_EFFECT}` }, desired.taint ? 'node tainted' : 'node taint removed');
  }

  const onEvent = (e: NodeEvent): void => want(e.node.name, desiredCondition(e.kind === 'removed' ? undefined : e.node));
  const off = registry.onChange(onEvent);
  for (const node of registry.listNodes()) want(node.name, desiredCondition(node));

  return {
    name: 'node conditions',
    async settled() {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
    async dispose() {
      disposed = true;
      off();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      await Promise.all([...running.values()]);
    },
  };
}

// The client turns timestamps into Date objects; they go back as RFC 3339 seconds, the API's own
// format, so rewriting a list leaves other writers' entries byte for byte as they were.
type PlainCondition = Omit<V1NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'> & { lastHeartbeatTime?: string; lastTransitionTime?: string };
type PlainTaint = Omit<V1Taint, 'timeAdded'> & { timeAdded?: string };

function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function plainCondition(c: V1NodeCondition): PlainCondition {
  const { lastHeartbeatTime, lastTransitionTime, ...rest } = c;
  return {
    ...rest,
    ...(lastHeartbeatTime !== undefined && { lastHeartbeatTime: kubeTime(new Date(lastHeartbeatTime)) }),
    ...(lastTransitionTime !== undefined && { lastTransitionTime: kubeTime(new Date(lastTransitionTime)) }),
  };
}

function plainTaint(t: V1Taint): PlainTaint {
  const { timeAdded, ...rest } = t;
  return { ...rest, ...(timeAdded !== undefined && { timeAdded: kubeTime(new Date(timeAdded)) }) };
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof KubeError ? err : toKubeError(err, what);
  }
}

