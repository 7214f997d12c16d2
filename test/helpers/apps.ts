// Builds apps the way main does, with a silent logger, for inject() tests.
import { createLogger } from '../../src/common/logger.js';
import { type AppMetrics, createAppMetrics, createProcessRegistry } from '../../src/common/metrics.js';

export const silentLog = createLogger({ level: 'silent', format: 'json', stream: process.stderr });

let processRegistry: ReturnType<typeof createProcessRegistry> | undefined;

/** App metrics over one process registry per test file (default metrics are collected once). */
export function testMetrics(): AppMetrics {
  processRegistry ??= createProcessRegistry();
  return createAppMetrics(processRegistry);
}
