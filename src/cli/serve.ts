/**
 * Runs a long-lived service command: config → logger → start → summary → wait for SIGTERM/SIGINT →
 * drain within --shutdown.timeout. Resolves with the exit code once everything is released.
 */
import type { Registry } from 'prom-client';
import { type DeepReadonly, redactConfig } from '../common/config/load-config.js';
import type { Config } from '../common/config/schema.js';
import { DisposableStore, handleShutdownSignals } from '../common/lifecycle.js';
import { createLogger, type Logger } from '../common/logger.js';
import { createProcessRegistry } from '../common/metrics.js';
import type { CommandContext } from './types.js';

export interface ServiceRuntime {
  readonly config: DeepReadonly<Config>;
  readonly log: Logger;
  readonly processRegistry: Registry;
  readonly store: DisposableStore;
  readonly version: string;
}

export interface Started {
  /** Listener name → URL, in display order. */
  readonly urls: Readonly<Record<string, string>>;
  /** One line per listener for the human summary: what it is for. */
  readonly roles: Readonly<Record<string, string>>;
  readonly title: string;
  /** More fields of the --json line, after the URLs (structured ones, such as `brixlet up`'s agent list). */
  readonly json?: Readonly<Record<string, unknown>>;
  /** Called when the drain starts (turn readiness off). */
  readonly beforeDrain?: () => void;
}

export async function serve(ctx: CommandContext, start: (rt: ServiceRuntime) => Promise<Started>): Promise<number> {
  const { config, sources, derived } = ctx.loadConfig();
  const log = createLogger({ level: config.log.level, format: config.log.format, stream: ctx.io.stderr });
  log.info({ config: redactConfig(config), sources: nonDefault(sources), version: ctx.version }, 'effective configuration');
  for (const note of derived ?? []) log.info(note);
  const store = new DisposableStore('brixlet');
  const rt: ServiceRuntime = { config, log, processRegistry: createProcessRegistry(), store, version: ctx.version };

  let started: Started;
  try {
    started = await start(rt);
  } catch (err) {
    await store.dispose().catch((e: unknown) => log.warn({ err: e }, 'cleanup after failed start'));
    throw err;
  }

  const { io, out } = ctx;
  if (ctx.args.options.json === true) {
    io.stdout.write(`${JSON.stringify({ ...started.urls, ...started.json })}\n`);
  } else {
    const lines = [`${out.bold('brixlet')} ${ctx.version} — ${started.title}`];
    for (const [name, url] of Object.entries(started.urls)) {
      lines.push(`  ${out.bold(name.padEnd(8))} ${out.cyan(url.padEnd(26))} ${out.dim(started.roles[name] ?? '')}`);
    }
    lines.push(out.dim('Press Ctrl-C to stop.'));
    io.stdout.write(`${lines.join('\n')}\n`);
  }

  return new Promise<number>((resolve) => {
    const signals = handleShutdownSignals({
      log,
      timeoutMs: config.shutdown.timeout,
      store,
      ...(io.signals !== undefined ? { signals: io.signals } : {}),
      ...(started.beforeDrain !== undefined ? { beforeDrain: started.beforeDrain } : {}),
      exit: (code) => {
        void signals.dispose();
        resolve(code);
      },
    });
  });
}

function nonDefault(sources: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(sources).filter(([, s]) => s !== 'default'));
}
