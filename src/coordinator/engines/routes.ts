/**
 * GET /v1/engines on the control port: every engine the gateway knows, routable or not, with why
 * it is left out (engine /health, its node stale, its GPUs unhealthy), the models it serves, its
 * GPU type and speed, the load the gateway tracks and its last scraped metrics.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { BrixletServer } from '../../common/http/create-server.js';
import type { EngineState } from '../router/types.js';
import type { EngineSetView, EngineSpec } from './types.js';

const Num = Type.Optional(Type.Number());

export const EngineView = Type.Object({
  uid: Type.String(),
  name: Type.String(),
  url: Type.String(),
  source: Type.Optional(Type.String({ description: 'static, up or kube' })),
  node: Type.Optional(Type.String()),
  gpus: Type.Optional(Type.Array(Type.String())),
  gpuType: Type.String({ description: 'The speed profile used (h100 is the reference).' }),
  speed: Type.Object({ prefill: Type.Number(), decode: Type.Number() }),
  healthy: Type.Boolean({ description: 'Last /health answered 200 and the engine has models.' }),
  routable: Type.Boolean(),
  excludedBecause: Type.Optional(Type.String({ description: 'Why the engine is out of routing now.' })),
  models: Type.Array(Type.String()),
  probedAt: Type.Optional(Type.String({ format: 'date-time' })),
  load: Type.Object({
    inFlight: Type.Number(),
    prefillTokens: Type.Number(),
    decoding: Type.Number(),
    decodeTokens: Type.Number(),
    total: Type.Number(),
  }),
  metrics: Type.Optional(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      running: Num,
      waiting: Num,
      swapped: Num,
      gpuCacheUsage: Num,
      cpuCacheUsage: Num,
      promptThroughput: Num,
      generationThroughput: Num,
      avgPromptTokens: Num,
      avgGenerationTokens: Num,
      ttftMean: Num,
      e2eMean: Num,
      queueTimeMean: Num,
      prefillTimeMean: Num,
      decodeTimeMean: Num,
      busyTimeRatio: Num,
      prefixCacheHitRate: Num,
    }),
  ),
  kv: Type.Optional(Type.Object({ capacityBytes: Type.Number(), usedBytes: Type.Number(), hitRatio: Type.Union([Type.Number(), Type.Null()]) })),
});
export type EngineView = Static<typeof EngineView>;

export const EngineList = Type.Object({ engines: Type.Array(EngineView) });

/** The engine set, plus what EngineSet knows beyond the view (source, last probe), when it is one. */
export interface EngineRoutesSource extends EngineSetView {
  spec?(uid: string): EngineSpec | undefined;
  probedAt?(uid: string): number | undefined;
}

export function engineView(e: EngineState, engines: EngineRoutesSource): EngineView {
  const spec = engines.spec?.(e.uid);
  const probedAt = engines.probedAt?.(e.uid);
  const { load, metrics } = e;
  return {
    uid: e.uid,
    name: e.name,
    url: e.url,
    ...(spec && { source: spec.source }),
    ...(e.node !== undefined && { node: e.node }),
    ...(e.gpus !== undefined && { gpus: [...e.gpus] }),
    gpuType: e.speed.gpuType,
    speed: { prefill: e.speed.prefill, decode: e.speed.decode },
    healthy: e.healthy,
    routable: e.excludedBecause === undefined,
    ...(e.excludedBecause !== undefined && { excludedBecause: e.excludedBecause }),
    models: [...e.models],
    ...(probedAt !== undefined && { probedAt: new Date(probedAt).toISOString() }),
    load: { inFlight: load.inFlight, prefillTokens: load.prefillTokens, decoding: load.decoding, decodeTokens: load.decodeTokens, total: load.total },
    ...(metrics && { metrics: { ...metrics, at: new Date(metrics.at).toISOString() } }),
    ...(e.kv && { kv: { capacityBytes: e.kv.capacityBytes, usedBytes: e.kv.usedBytes, hitRatio: e.kv.hitRatio } }),
  };
}

export function registerEngineRoutes(app: BrixletServer, engines: EngineRoutesSource): void {
  app.get(
    '/v1/engines',
    {
      schema: {
        summary: 'Engines the gateway routes to, with health, exclusion reason, models, GPU type, load and last metrics.',
        response: { 200: EngineList },
      },
    },
    async () => ({ engines: engines.all().map((e) => engineView(e, engines)) }),
  );
}
