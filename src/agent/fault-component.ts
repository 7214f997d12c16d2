/**
 * The agent's fault-injection component (--faults.enabled): one FaultEngine shared by every
 * accelerator backend, each wrapped in the fault decorator before the sampler sees it; the
 * /v1/faults API; the fault metrics; and the interposer rule file, rewritten whenever the rule set
 * changes or a rule's window opens, closes or expires. Disabled (the default) it wraps nothing —
 * the backends are read exactly as without it — and the API answers 403.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { createFaultDecorator } from '../accel/fault/decorator.js';
import { DEFAULT_MAX_RULES, FaultEngine } from '../accel/fault/engine.js';
import type { RuleFileContext } from '../accel/fault/rule-file.js';
import { RuleFileWriter } from '../accel/fault/rule-file-writer.js';
import type { AcceleratorBackend, DeviceIdentity, Vendor } from '../accel/types.js';
import type { DeepReadonly } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { BrixletError } from '../common/errors.js';
import type { BrixletServer } from '../common/http/create-server.js';
import type { Logger } from '../common/logger.js';
import { readTokenFile, TOKEN_MIN_LENGTH } from '../common/token-file.js';
import { registerFaultRoutes } from './fault-routes.js';
import type { AgentComponent, AgentContext } from './types.js';

export const MIN_TOKEN_LENGTH = TOKEN_MIN_LENGTH;

export interface FaultComponentOptions {
  readonly config: DeepReadonly<Pick<Config, 'faults' | 'agent'>>;
  readonly log: Logger;
  readonly now?: () => number;
  readonly maxRules?: number;
}

export interface FaultComponent extends AgentComponent {
  readonly enabled: boolean;
  /** The shared engine; undefined when fault injection is disabled. */
  readonly engine?: FaultEngine;
  /** Wraps each backend in the fault decorator (the same array when disabled); pass the result to the sampler. */
  decorate(backends: readonly AcceleratorBackend[]): readonly AcceleratorBackend[];
  /** Resolves once the rule file reflects the current rules (tests, shutdown). */
  flushed(): Promise<void>;
}

/** Reads and checks the bearer token: a missing or short token stops the agent at start-up. */
export function readFaultToken(path: string): Promise<string> {
  if (path === '') return Promise.reject(new BrixletError('BRX_ERR_FAULT_TOKEN', { path: '(none)', reason: '--faults.enabled needs --faults.token-file' }));
  return readTokenFile(path, { flag: '--faults.token-file', code: 'BRX_ERR_FAULT_TOKEN' });
}

export async function createFaultComponent(opts: FaultComponentOptions): Promise<FaultComponent> {
  const { faults, agent } = opts.config;
  const maxRules = opts.maxRules ?? DEFAULT_MAX_RULES;
  if (!faults.enabled) {
    return {
      name: 'faults',
      enabled: false,
      decorate: (backends) => backends,
      flushed: () => Promise.resolve(),
      // Two schema-less catch-alls answer 403: compiling the full route schemas for a switched-off
      // feature would cost every agent memory (and advertise routes that do nothing in /openapi.json).
      register: (app: BrixletServer) => {
        const disabled = async (): Promise<never> => {
          throw new BrixletError('BRX_ERR_FAULT_DISABLED');
        };
        app.all('/v1/faults', { schema: { hide: true } }, disabled);
        app.all('/v1/faults/*', { schema: { hide: true } }, disabled);
      },
      dispose: () => undefined,
    };
  }
  const token = await readFaultToken(faults.tokenFile);
  const log = opts.log.child({ component: 'faults' });
  const now = opts.now ?? Date.now;
  const engine = new FaultEngine({ now, maxRules, log });
  const inner: AcceleratorBackend[] = [];
  const files = faults.ruleFile === '' ? undefined : new RuleFileFeed(new RuleFileWriter(faults.ruleFile, faults.ruleFileLease), engine, () => ruleFileContext(inner, now()), log);
  const cleanups: (() => void)[] = [];
  let disposed = false;

  return {
    name: 'faults',
    enabled: true,
    engine,
    decorate(backends) {
      inner.push(...backends);
      return backends.map((b) => createFaultDecorator(b, engine));
    },
    flushed: () => files?.flushed() ?? Promise.resolve(),
    async register(app: BrixletServer, ctx: AgentContext) {
      await registerFaultRoutes(app, { engine, token, maxRules, bodyLimit: agent.bodyLimit, ...(hasAscend(inner) && { resolveAscend: (card, device) => ascendLogicId(inner, card, device) }) });
      registerFaultMetrics(ctx, engine);
      if (files !== undefined) {
        await files.start();
        cleanups.push(engine.onChange(() => files.schedule()));
      }
      log.warn({ ruleFile: faults.ruleFile || undefined }, 'fault injection is enabled: /v1/faults can fail this node\'s accelerators');
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const c of cleanups.splice(0)) c();
      // Rules live in this process: an interposer must not keep injecting them once the agent is gone.
      await files?.close();
    },
  };
}

function registerFaultMetrics(ctx: AgentContext, engine: FaultEngine): void {
  const registers = [ctx.metrics.registry];
  new Gauge({
    name: 'brixlet_fault_rules_active',
    help: 'Fault-injection rules active on this agent.',
    registers,
    collect() {
      this.set(engine.list().length);
    },
  });
  new Counter({
    name: 'brixlet_fault_injections_total',
    help: 'Times a fault rule was applied to a backend call, by rule id and API.',
    labelNames: ['rule', 'api'] as const,
    registers,
    collect() {
      // The engine keeps the counts (bounded); mirror them rather than count twice.
      this.reset();
      for (const c of engine.injectionCounts()) this.inc({ rule: c.rule, api: c.api }, c.count);
    },
  });
}

/**
 * Keeps the interposer rule file in step with the engine: coalesced writes, a timer for windows and
 * TTLs, and a rewrite every third of the writer's lease while rules are in the file, so their
 * expiry moves forward while this agent lives and passes soon after it is killed.
 */
class RuleFileFeed {
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private last: Promise<void> = Promise.resolve();
  private failing = false;
  private closed = false;

  constructor(
    private readonly writer: RuleFileWriter,
    private readonly engine: FaultEngine,
    private readonly context: () => Omit<RuleFileContext, 'generation'>,
    private readonly log: Logger,
  ) {}

  /** Creates the directory (best effort) and writes the current (empty) rule set over any stale file. */
  async start(): Promise<void> {
    // 0755 whatever the umask: the writer refuses a directory others can write, and LD_PRELOADed
    // processes of other users read the file in it.
    await mkdir(dirname(this.writer.path), { recursive: true, mode: 0o755 }).catch(() => undefined);
    this.schedule();
    await this.flushed();
  }

  schedule(): void {
    if (this.pending || this.closed) return;
    this.pending = true;
    // Coalesced: a burst of changes (an import) becomes one write.
    this.last = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.write());
  }

  async flushed(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.last;
      await seen;
    } while (seen !== this.last);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flushed();
    await this.writer.write([], this.context()).catch((err: unknown) => this.log.warn({ err }, 'clearing the fault rule file failed'));
  }

  private async write(): Promise<void> {
    // list() drops expired rules first; a change it causes is part of this write.
    const rules = this.engine.list();
    this.pending = false;
    try {
      const compiled = await this.writer.write(rules, this.context());
      if (this.failing) this.log.info({ path: this.writer.path }, 'fault rule file written again');
      this.failing = false;
      clearTimeout(this.timer);
      this.timer = undefined;
      const next = Math.min(compiled.nextChangeAt ?? Number.POSITIVE_INFINITY, compiled.renewAt ?? Number.POSITIVE_INFINITY);
      if (next !== Number.POSITIVE_INFINITY && !this.closed) {
        this.timer = setTimeout(() => this.schedule(), Math.max(0, next - Date.now()) + 1);
        this.timer.unref();
      }
    } catch (err) {
      // Warn once: an unwritable path (no /run/brixlet) must not flood the log on every change.
      if (!this.failing) this.log.warn({ err }, 'writing the fault rule file failed: other processes will not see the NVML/DCMI rules');
      this.failing = true;
      // Try again within the lease: the entries already in the file lapse if it is never renewed.
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.closed && rules.length > 0) {
        this.timer = setTimeout(() => this.schedule(), Math.max(1, Math.floor(this.writer.leaseMs / 3)));
        this.timer.unref();
      }
    }
  }
}

function ruleFileContext(backends: readonly AcceleratorBackend[], now: number): Omit<RuleFileContext, 'generation'> {
  const devices = (vendor: Vendor): DeviceIdentity[] => backends.filter((b) => b.vendor === vendor).flatMap((b) => b.devices());
  return {
    now,
    nvidiaDevices: devices('nvidia').map((d) => d.index),
    indexOfUuid: (vendor, uuid) => devices(vendor).find((d) => d.uuid === uuid)?.index,
    ascendAddress: (logicId) => {
      const d = devices('ascend').find((x) => x.index === logicId);
      return d?.cardId !== undefined && d.deviceId !== undefined ? { card: d.cardId, device: d.deviceId } : undefined;
    },
  };
}

function hasAscend(backends: readonly AcceleratorBackend[]): boolean {
  return backends.some((b) => b.vendor === 'ascend' && b.devices().length > 0);
}

function ascendLogicId(backends: readonly AcceleratorBackend[], card: number, device: number): number | undefined {
  return backends
    .filter((b) => b.vendor === 'ascend')
    .flatMap((b) => b.devices())
    .find((d) => d.cardId === card && d.deviceId === device)?.index;
}
