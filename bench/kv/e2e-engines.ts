/**
 * The mock engines of bench:kv-e2e, in their own process (as engines are beside the agent on a node):
 * `n` engines of the given GPU profile with its KV blocks cut to `kvBlocks`, engine i attached to
 * kvSockets[i mod len] (none: GPU prefix cache only). Prints one JSON line {urls} once they serve,
 * then, when stdin closes, one line with every engine's stats and this process's CPU seconds, and exits.
 */
import { GPU_PROFILES } from '../../src/mock-engine/profiles.js';
import { startMockEngine, type RunningMockEngine } from '../../src/mock-engine/server.js';

export interface EnginesConfig {
  readonly engines: number;
  readonly gpu: string;
  readonly kvBlocks: number;
  readonly timeScale: number;
  readonly kvSockets: readonly string[];
  readonly kvScale: number;
  readonly seed: number;
}

const c = JSON.parse(process.argv[2] ?? '{}') as EnginesConfig;
const base = GPU_PROFILES[c.gpu];
if (base === undefined) throw new Error(`no GPU profile ${c.gpu}`);
const profile = { ...base, kvBlocks: c.kvBlocks };
const engines: RunningMockEngine[] = [];
for (let i = 0; i < c.engines; i++) {
  const kvSocket = c.kvSockets.length > 0 ? c.kvSockets[i % c.kvSockets.length] : undefined;
  engines.push(await startMockEngine({ gpu: profile, seed: c.seed + i, timeScale: c.timeScale, name: `engine-${i}`, ...(kvSocket !== undefined && { kvSocket, kvScale: c.kvScale }) }));
}
const cpu0 = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ urls: engines.map((e) => e.url) })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    const cpu = process.cpuUsage(cpu0);
    const stats = engines.map((e) => e.stats());
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, stats })}\n`);
    await Promise.all(engines.map((e) => e.close()));
    process.exit(0);
  })();
});
