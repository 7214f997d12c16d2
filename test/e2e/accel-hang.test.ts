// A driver call that hangs (the native mock's `hang` key) must not freeze the agent: the built
// `brixlet agent`, reading the mock libnvidia-ml.so.1 through koffi, keeps answering /healthz and
// KV PING while nvmlDeviceGetPowerUsage blocks on GPU 1, and reports GPU 1 unknown with why; the same
// for dcmi_get_device_power_info on NPU chip 1 through the mock libdcmi.so.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { repoRoot } from '../helpers/repo.js';
import { buildNativeMock } from './accel-mock.js';
import { firstLine, spawnBrixlet } from './cli-process.js';

const available = buildNativeMock('libnvidia-ml.so.1');
if (!available) console.warn('skipping the NVML hang e2e: the native mock could not be built');
const dcmiAvailable = buildNativeMock('libdcmi.so');
if (!dcmiAvailable) console.warn('skipping the DCMI hang e2e: the native mock could not be built');

const dir = mkdtempSync(join(tmpdir(), 'brixlet-hang-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Device {
  index: number;
  health: { state: string; reasons: string[] };
  errors: { api: string; code: string; message?: string }[];
}

/** Polls /v1/accelerators until `done` holds (60 s only ends a hang). */
async function waitFor(agent: string, done: (devices: Device[]) => boolean): Promise<Device[]> {
  const until = Date.now() + 60_000;
  let last: Device[] = [];
  while (Date.now() < until) {
    const res = await fetch(`${agent}/v1/accelerators`);
    if (res.ok) {
      last = ((await res.json()) as { devices: Device[] }).devices;
      if (done(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within 60 s; last: ${JSON.stringify(last)}`);
}

describe.runIf(available)('an NVML call that hangs (built agent, native mock)', () => {
  it('leaves /healthz and KV PING answering and makes only that GPU unknown, with the call named', async () => {
    const scenario = join(dir, 'hang.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'hang',
        description: 'GPU 1 wedges in nvmlDeviceGetPowerUsage',
        nvml: {
          driverVersion: '550.54.15',
          defaults: { name: 'NVIDIA H100 80GB HBM3', powerUsageMw: 100000, powerLimitMw: 700000, tempGpu: 40 },
          // Far past the test: the call is still blocked when the agent is stopped.
          devices: [{ uuid: 'GPU-0' }, { uuid: 'GPU-1', hang: { nvmlDeviceGetPowerUsage: 3_600_000 } }, { uuid: 'GPU-2' }],
        },
      }),
    );
    const agent = spawnBrixlet(['agent', '--agent.port', '0', '--json', '--accel', 'nvml', '--accel.sample-interval', '200ms', '--accel.call-timeout', '300ms'], {
      BRIXLET_NVML_LIBRARY: join(repoRoot, 'native/build/libnvidia-ml.so.1'),
      BRIXLET_MOCK_SCENARIO: scenario,
      BRIXLET_LOG_LEVEL: 'warn',
    });
    try {
      const urls = JSON.parse(await firstLine(agent)) as { agent: string; kvSocket: string };
      const devices = await waitFor(urls.agent, (d) => d[1]?.health.state === 'unknown');
      expect(devices[1]!.health.reasons).toContain('nvmlDeviceGetPowerUsage did not return within 300 ms');
      expect(devices[1]!.errors).toContainEqual(expect.objectContaining({ api: 'nvmlDeviceGetPowerUsage', code: 'CALL_TIMEOUT' }));
      // The other GPUs are still read: a hang on one device does not stop the rest.
      await waitFor(urls.agent, (d) => d[0]?.health.state === 'healthy' && d[2]?.health.state === 'healthy');

      // The call is still blocked: the main loop answers HTTP and the KV socket regardless.
      expect((await fetch(`${urls.agent}/healthz`)).status).toBe(200);
      const kv = await KvClient.connect({ socketPath: urls.kvSocket, namespace: 'hang-test', blockSize: 4096, timeoutMs: 10_000 });
      try {
        for (let i = 0; i < 3; i++) await kv.ping();
      } finally {
        await kv.close();
      }
      // Later samples keep the device unknown (no second call piles up behind the first).
      const later = await waitFor(urls.agent, (d) => d[1]?.health.state === 'unknown');
      expect(later[1]!.health.reasons).toContain('nvmlDeviceGetPowerUsage did not return within 300 ms');
      expect((await fetch(`${urls.agent}/healthz`)).status).toBe(200);
    } finally {
      agent.child.kill('SIGTERM');
    }
    // Shutdown neither waits for the hung call nor unloads the library under it, and the process
    // still exits (libuv would otherwise join the pool thread inside the call forever).
    expect((await agent.exited).code).toBe(0);
  }, 120_000);
});

describe.runIf(dcmiAvailable)('a DCMI call that hangs (built agent, native mock)', () => {
  it('makes only that chip unknown, with the call named, keeps /healthz answering, and still exits', async () => {
    const healthy = JSON.parse(readFileSync(join(repoRoot, 'mocks/scenarios/healthy-8x-ascend910b.json'), 'utf8')) as { dcmi: { devices: Record<string, unknown>[] } };
    // Far past the test: the call is still blocked when the agent is stopped.
    healthy.dcmi.devices[1] = { ...healthy.dcmi.devices[1], hang: { dcmi_get_device_power_info: 3_600_000 } };
    const scenario = join(dir, 'hang-dcmi.json');
    writeFileSync(scenario, JSON.stringify(healthy));
    const agent = spawnBrixlet(['agent', '--agent.port', '0', '--json', '--accel', 'dcmi', '--accel.sample-interval', '200ms', '--accel.call-timeout', '300ms'], {
      BRIXLET_DCMI_LIBRARY: join(repoRoot, 'native/build/libdcmi.so'),
      BRIXLET_MOCK_SCENARIO: scenario,
      BRIXLET_LOG_LEVEL: 'warn',
    });
    try {
      const urls = JSON.parse(await firstLine(agent)) as { agent: string };
      const devices = await waitFor(urls.agent, (d) => d[1]?.health.state === 'unknown');
      expect(devices[1]!.health.reasons).toContain('dcmi_get_device_power_info did not return within 300 ms');
      expect(devices[1]!.errors).toContainEqual(expect.objectContaining({ api: 'dcmi_get_device_power_info', code: 'CALL_TIMEOUT' }));
      // Samples keep completing: the other chips are read and healthy.
      await waitFor(urls.agent, (d) => d.length === 8 && d.every((x) => x.index === 1 || x.health.state === 'healthy'));
      expect((await fetch(`${urls.agent}/healthz`)).status).toBe(200);
    } finally {
      agent.child.kill('SIGTERM');
    }
    // The library stays loaded under the stuck call, and the _exit safeguard still lets the process leave.
    expect((await agent.exited).code).toBe(0);
  }, 120_000);
});
