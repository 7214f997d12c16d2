/**
 * `--accel auto|nvml|dcmi|none|sim:<scenario>` → opened backends. The only module that knows the
 * vendor folders.
 */
import { BrixletError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { createDcmiBackend } from './dcmi/index.js';
import { createNvmlBackend } from './nvml/index.js';
import { loadScenarioFile, resolveScenario } from './scenario.js';
import { createSimBackends } from './sim/index.js';
import type { AcceleratorBackend } from './types.js';

export type AccelSpec =
  | { readonly kind: 'auto' }
  | { readonly kind: 'nvml' }
  | { readonly kind: 'dcmi' }
  | { readonly kind: 'none' }
  | { readonly kind: 'sim'; readonly scenario: string };

export interface OpenBackendsOptions {
  readonly nvmlLibrary: string;
  readonly dcmiLibrary: string;
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** accel.callTimeout: how long one NVML or DCMI sampling call may take before its device is unknown (ms). */
  readonly callTimeoutMs?: number;
}

export function parseAccelSpec(spec: string): AccelSpec {
  const s = spec.trim();
  if (s === 'auto' || s === 'nvml' || s === 'dcmi' || s === 'none') return { kind: s };
  if (s.startsWith('sim:') && s.length > 'sim:'.length) return { kind: 'sim', scenario: s.slice('sim:'.length) };
  throw new BrixletError('BRX_ERR_ACCEL_UNAVAILABLE', { reason: `unknown accelerator backend "${spec}" (expected auto, nvml, dcmi, none or sim:<scenario>)` });
}

/**
 * Opens what `spec` names. `auto` keeps a vendor whose library is real (up, or failed: a driver
 * that is installed but broken is worth reporting) and drops absent ones; an explicit vendor is
 * kept even when absent, so diagnose can say why.
 */
export async function openBackends(spec: string, opts: OpenBackendsOptions): Promise<AcceleratorBackend[]> {
  const parsed = parseAccelSpec(spec);
  const env = opts.env ?? process.env;
  const nvml = () =>
    createNvmlBackend({
      library: opts.nvmlLibrary,
      log: opts.log.child({ component: 'nvml' }),
      env,
      ...(opts.callTimeoutMs !== undefined && { callTimeoutMs: opts.callTimeoutMs }),
    });
  const dcmi = () =>
    createDcmiBackend({
      library: opts.dcmiLibrary,
      log: opts.log.child({ component: 'dcmi' }),
      env,
      ...(opts.callTimeoutMs !== undefined && { callTimeoutMs: opts.callTimeoutMs }),
    });
  switch (parsed.kind) {
    case 'none':
      return [];
    case 'nvml':
      return openAll([nvml()]);
    case 'dcmi':
      return openAll([dcmi()]);
    case 'sim': {
      const scenario = loadScenarioFile(resolveScenario(parsed.scenario));
      return openAll(createSimBackends(scenario, { log: opts.log.child({ component: 'sim' }), ...(opts.callTimeoutMs !== undefined && { callTimeoutMs: opts.callTimeoutMs }) }));
    }
    case 'auto': {
      const opened = await openAll([nvml(), dcmi()]);
      const kept = opened.filter((b) => b.status().state !== 'absent');
      await Promise.all(opened.filter((b) => !kept.includes(b)).map((b) => b.close()));
      return kept;
    }
  }
}

async function openAll(backends: AcceleratorBackend[]): Promise<AcceleratorBackend[]> {
  await Promise.all(backends.map((b) => b.open()));
  return backends;
}
