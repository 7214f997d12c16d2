// A gateway app in front of real mock engines, listening on loopback, for the gateway tests.
import type { RunningMockEngine } from '../../src/mock-engine/index.js';
import type { AppMetrics } from '../../src/common/metrics.js';
import { createEngineSet, type EngineSet } from '../../src/coordinator/engines/engine-set.js';
import { parseEngineList } from '../../src/coordinator/engines/static-engines.js';
import { buildGatewayApp, type GatewayApp, type GatewaySettings } from '../../src/coordinator/gateway-app.js';
import { createPrefixIndex } from '../../src/coordinator/router/prefix-index.js';
import { Router } from '../../src/coordinator/router/router.js';
import type { RoutingPolicyName } from '../../src/coordinator/router/types.js';
import { silentLog, testMetrics } from './apps.js';

export interface GatewayFixture {
  readonly mocks: RunningMockEngine[];
  readonly set: EngineSet;
  readonly gateway: GatewayApp;
  readonly metrics: AppMetrics;
  readonly url: string;
  readonly port: number;
}

/** Engines probed once (no probe timer), a router with a fixed random draw, the gateway listening. */
export async function startGatewayFixture(mocks: RunningMockEngine[], policy: RoutingPolicyName, settings: GatewaySettings): Promise<GatewayFixture> {
  const set = createEngineSet({ specs: parseEngineList(mocks.map((m) => m.url).join(',')), log: silentLog, probeInterval: 60_000 });
  await set.probeNow();
  const router = new Router({ defaultPolicy: policy, prefix: createPrefixIndex({ blockTokens: 16, capacity: 4096 }), random: () => 0.5 });
  const metrics = testMetrics();
  const gateway = await buildGatewayApp({ log: silentLog, metrics, version: 'test', engines: set, router, settings });
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  return { mocks, set, gateway, metrics, url, port: Number(new URL(url).port) };
}

export async function closeGatewayFixture(f: GatewayFixture | undefined): Promise<void> {
  if (f === undefined) return;
  await f.gateway.app.close();
  await f.set.dispose();
  await Promise.all(f.mocks.map((m) => m.close()));
}
