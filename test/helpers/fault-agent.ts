// An in-process agent over a sim scenario with fault injection on, for the fault API and CLI tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, resolveScenario } from '../../src/accel/scenario.js';
import { createSimBackends } from '../../src/accel/sim/index.js';
import { type AccelComponent, createAccelComponent } from '../../src/agent/accel-component.js';
import { buildAgentApp } from '../../src/agent/agent-app.js';
import { createFaultComponent, type FaultComponent } from '../../src/agent/fault-component.js';
import { loadConfig } from '../../src/common/config/load-config.js';
import type { BrixletServer } from '../../src/common/http/create-server.js';
import type { AppMetrics } from '../../src/common/metrics.js';
import { Readiness } from '../../src/common/readiness.js';
import { silentLog, testMetrics } from './apps.js';

export const TOKEN = 'test-token-0123456789abcdef';

export interface FaultAgent {
  readonly app: BrixletServer;
  readonly faults: FaultComponent;
  readonly accel: AccelComponent;
  readonly metrics: AppMetrics;
  readonly dir: string;
  readonly tokenFile: string;
  readonly ruleFile: string;
  close(): Promise<void>;
}

export async function faultAgent(opts: { enabled?: boolean; scenario?: string; flags?: Record<string, string>; maxRules?: number } = {}): Promise<FaultAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-faults-'));
  const tokenFile = join(dir, 'token');
  const ruleFile = join(dir, 'faults.json');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const { config } = loadConfig({
    flags: {
      'accel.backend': 'none',
      'accel.sampleInterval': '10m',
      'faults.enabled': opts.enabled === false ? 'false' : 'true',
      'faults.tokenFile': tokenFile,
      'faults.ruleFile': ruleFile,
      ...opts.flags,
    },
  });
  const faults = await createFaultComponent({ config, log: silentLog, ...(opts.maxRules !== undefined && { maxRules: opts.maxRules }) });
  const backends = createSimBackends(loadScenarioFile(resolveScenario(opts.scenario ?? 'healthy-8x-h100')), { log: silentLog });
  for (const b of backends) await b.open();
  const accel = await createAccelComponent({ config, log: silentLog, nodeName: 'gpu-node-1', backends, decorate: faults.decorate });
  const metrics = testMetrics();
  const app = await buildAgentApp({ config, log: silentLog, metrics, readiness: new Readiness(), version: '1.0.0', nodeName: 'gpu-node-1', components: [accel, faults] });
  await app.ready();
  return {
    app,
    faults,
    accel,
    metrics,
    dir,
    tokenFile,
    ruleFile,
    async close() {
      await app.close();
      await accel.dispose();
      await faults.dispose();
    },
  };
}

export const auth = { authorization: `Bearer ${TOKEN}` };
