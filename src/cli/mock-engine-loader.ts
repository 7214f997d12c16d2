/**
 * Loads the mock engine (mocks/engine) at run time for `brixlet mock-engine` and
 * `brixlet up --engines N`. src/ never imports mocks/ statically (a layer rule): the built CLI
 * imports dist/mocks/engine/index.js next to it, and under vitest (running from src/) the
 * TypeScript source. What the CLI needs from the module is written here as a structural type,
 * and the returned functions turn the mock's own errors into catalog errors.
 */
import { BrixletError, isBrixletError } from '../common/errors.js';

export interface MockGpuProfile {
  readonly name: string;
  readonly description?: string;
  readonly stepOverheadMs: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsPerSeq: number;
  readonly maxBatchedTokens: number;
  readonly maxRunning: number;
  readonly kvBlocks: number;
  readonly blockTokens: number;
  readonly speed: { readonly prefill: number; readonly decode: number };
  readonly costPerHour: number;
}

export interface MockEngineStartOptions {
  readonly host?: string;
  readonly port?: number;
  readonly model?: string;
  readonly servedModelNames?: readonly string[];
  readonly gpu?: string;
  readonly seed?: number;
  /** Model time per wall time (default 1); Infinity answers at once. */
  readonly timeScale?: number;
  readonly latency?: boolean;
  readonly charsPerToken?: number;
  readonly maxBodyBytes?: number;
  readonly maxModelLen?: number;
  readonly apiKey?: string;
  readonly name?: string;
}

export interface MockEngineHandle {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly models: readonly string[];
  readonly profile: MockGpuProfile;
  readonly seed: number;
  readonly timeScale: number;
  setHealthy(healthy: boolean): void;
  failNext(spec: { readonly mode: 'reset' | 'status' | 'midstream'; readonly status?: number; readonly count?: number }): void;
  close(): Promise<void>;
}

export interface MockEngineModule {
  startMockEngine(options?: MockEngineStartOptions): Promise<MockEngineHandle>;
  /** n engines, seeds seed…seed+n−1, `gpus` cycled, names `<name>-<i>`. */
  startMockEngines(n: number, options?: MockEngineStartOptions & { readonly gpus?: readonly string[] }): Promise<MockEngineHandle[]>;
  readonly GPU_PROFILES: Readonly<Record<string, MockGpuProfile>>;
}

/** Where the module is: the built copy next to dist/cli, or the source when running from src/. */
export function mockEngineModuleUrl(from: string = import.meta.url): URL {
  return from.endsWith('.ts') ? new URL('../../mocks/engine/index.ts', from) : new URL('../mocks/engine/index.js', from);
}

let loaded: Promise<MockEngineModule> | undefined;

export function loadMockEngine(): Promise<MockEngineModule> {
  return (loaded ??= importMockEngine(mockEngineModuleUrl()).catch((e: unknown) => {
    loaded = undefined;
    throw e;
  }));
}

/** Imports and checks the module at `url` (exported for tests). */
export async function importMockEngine(url: URL): Promise<MockEngineModule> {
  let mod: Partial<MockEngineModule>;
  try {
    mod = (await import(url.href)) as Partial<MockEngineModule>;
  } catch (e) {
    throw new BrixletError('BRX_ERR_MOCK_ENGINE', { reason: `cannot load ${url.pathname} (${(e as Error).message}); run \`npm run build\`` }, { cause: e });
  }
  const { startMockEngine, startMockEngines, GPU_PROFILES } = mod;
  if (typeof startMockEngine !== 'function' || typeof startMockEngines !== 'function' || typeof GPU_PROFILES !== 'object') {
    throw new BrixletError('BRX_ERR_MOCK_ENGINE', { reason: `${url.pathname} does not export startMockEngine, startMockEngines and GPU_PROFILES; rebuild with \`npm run build\`` });
  }
  return {
    GPU_PROFILES,
    startMockEngine: (o) => startMockEngine(o).catch((e: unknown) => Promise.reject(catalogError(e, o))),
    startMockEngines: (n, o) => startMockEngines(n, o).catch((e: unknown) => Promise.reject(catalogError(e, o))),
  };
}

/** A listen failure → BRX_ERR_HTTP_LISTEN; a bad option (MockEngineError) → BRX_ERR_MOCK_ENGINE. */
function catalogError(e: unknown, o: MockEngineStartOptions | undefined): unknown {
  if (isBrixletError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.syscall === 'listen' || err?.code === 'EADDRINUSE' || err?.code === 'EACCES' || err?.code === 'EADDRNOTAVAIL') {
    return new BrixletError('BRX_ERR_HTTP_LISTEN', { host: o?.host ?? '127.0.0.1', port: String(o?.port ?? 0), server: 'mock engine', reason: err.code ?? err.message }, { cause: e });
  }
  if (err?.name === 'MockEngineError') return new BrixletError('BRX_ERR_MOCK_ENGINE', { reason: err.message }, { cause: e });
  return e;
}
