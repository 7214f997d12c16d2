import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBES } from '../../src/accel/probes/index.js';
import { Sampler } from '../../src/accel/sampler.js';
import { loadScenarioFile, resolveScenario } from '../../src/accel/scenario.js';
import { createSimBackends } from '../../src/accel/sim/index.js';
import type { AccelSnapshot } from '../../src/accel/types.js';
import { AcceleratorList, ApiErrorView, BackendStatusView, DeviceParams, DeviceView, HealthView, IdentityView, SampleView } from '../../src/agent/accel-schemas.js';
import { ASCEND_SAMPLE, gpu, H100_SAMPLE, npu } from '../accel/helpers/snapshot.js';
import { silentLog } from '../helpers/apps.js';

let sampler: Sampler;
let snapshot: AccelSnapshot;

/** A real snapshot of both vendors: the sim backend of the two reference scenarios through the sampler. */
beforeAll(async () => {
  const h100 = loadScenarioFile(resolveScenario('healthy-8x-h100'));
  const ascend = loadScenarioFile(resolveScenario('healthy-8x-ascend910b'));
  const backends = createSimBackends({ name: 'both', description: 'both vendors', nvml: h100.nvml, dcmi: ascend.dcmi }, { log: silentLog });
  for (const b of backends) await b.open();
  sampler = new Sampler({ backends, probes: PROBES, intervalMs: 60_000, node: 'node-a', log: silentLog, xidIgnore: [] });
  snapshot = await sampler.sampleNow();
});
afterAll(() => sampler.dispose());

/** What the route sends after fastify's serializer drops properties the schema does not declare. */
const serialized = <T>(schema: Parameters<typeof Value.Clean>[0], value: T) => Value.Clean(schema, structuredClone(value));

describe('accelerator route schemas', () => {
  it('accept a real snapshot of NVIDIA and Ascend devices', () => {
    expect(snapshot.devices.map((d) => d.identity.vendor)).toContain('ascend');
    const list = { ...snapshot, devices: snapshot.devices.map((d) => ({ ...d.identity, backend: d.backend, identity: d.identity, health: d.health, sample: d.sample, unsupported: d.unsupported, errors: d.errors, recentXids: d.recentXids, xidCounts: d.xidCounts })) };
    expect(Value.Errors(AcceleratorList, list).First()).toBeUndefined();
    for (const b of snapshot.backends) expect(Value.Check(BackendStatusView, b)).toBe(true);
  });

  it('keep every sample field a backend reads: none is lost by the response serializer', () => {
    for (const sample of [H100_SAMPLE, ASCEND_SAMPLE, ...snapshot.devices.map((d) => d.sample)]) {
      expect(serialized(SampleView, sample)).toEqual(sample);
    }
  });

  it('keep every identity field of both vendors', () => {
    for (const d of snapshot.devices) expect(serialized(IdentityView, d.identity)).toEqual(d.identity);
    const withFields = npu(2).identity;
    expect(serialized(IdentityView, withFields)).toEqual(withFields);
  });

  it('keep a failed backend\'s error and message', () => {
    const failed = { kind: 'nvml', vendor: 'nvidia', state: 'failed', message: 'nvmlInitWithFlags: DRIVER_NOT_LOADED (9)', error: { api: 'nvmlInitWithFlags', code: 'DRIVER_NOT_LOADED', value: 9 }, libraryPath: '/usr/lib/libnvidia-ml.so.1' };
    expect(serialized(BackendStatusView, failed)).toEqual(failed);
  });

  it('accept unsigned 32-bit fault codes and reject what does not fit', () => {
    expect(Value.Check(SampleView, { npuFaultCodes: [0x80e24e00, 0xffffffff] })).toBe(true);
    expect(Value.Check(SampleView, { npuFaultCodes: [0x1_0000_0000] })).toBe(false);
    expect(Value.Check(SampleView, { npuFaultCodes: [-1] })).toBe(false);
  });

  it('reject malformed devices', () => {
    const ok = { ...gpu(0).identity, backend: 'sim', identity: gpu(0).identity, health: { state: 'healthy', reasons: [] }, sample: {}, unsupported: [], errors: [], recentXids: [], xidCounts: { '79': 1 } };
    expect(Value.Check(DeviceView, ok)).toBe(true);
    expect(Value.Check(DeviceView, { ...ok, xidCounts: { '79': 1.5 } })).toBe(false);
    expect(Value.Check(DeviceView, { ...ok, backend: 'rocm' })).toBe(false);
    expect(Value.Check(DeviceView, { ...ok, sample: { powerW: '300' } })).toBe(false);
    expect(Value.Check(HealthView, { state: 'sick', reasons: [] })).toBe(false);
    expect(Value.Check(ApiErrorView, { api: 'x', code: 'NOT_SUPPORTED', value: 3.5 })).toBe(false);
  });

  it('take only non-negative integer device indexes', () => {
    expect(Value.Check(DeviceParams, { index: 0 })).toBe(true);
    expect(Value.Check(DeviceParams, { index: -1 })).toBe(false);
    expect(Value.Check(DeviceParams, { index: 1.5 })).toBe(false);
  });
});
