import { describe, expect, it } from 'vitest';
import { FaultEngine } from '../../../src/accel/fault/engine.js';
import { presetRule } from '../../../src/accel/fault/presets.js';
import { compileRuleFile } from '../../../src/accel/fault/rule-file.js';
import { DEFAULT_TTL_MS } from '../../../src/accel/fault/rule-schema.js';

describe('compileRuleFile', () => {
  it('writes the return-code and XID effects of NVML/DCMI rules by function name, in priority order', () => {
    const e = new FaultEngine({ now: () => 0 });
    e.add(presetRule('nvml-init-failure', { params: { code: 12 } }));
    e.add(presetRule('gpu-lost', { target: { device: 3 } }));
    e.add({ id: 'temp', what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 'NOT_SUPPORTED' } });
    e.add({ id: 'pcie', target: { device: 1 }, what: { class: 'pcie' }, effect: { return: 999 } });
    e.add({ id: 'npu', target: { device: 5 }, what: { api: 'dcmi_get_device_health' }, effect: { return: -8005 } });
    e.add(presetRule('npu-init-failure'));
    const { file, skipped } = compileRuleFile(e.list(), { now: 0, generation: 17, ascendAddress: (id) => (id === 5 ? { card: 2, device: 0 } : undefined) });
    const ttl = DEFAULT_TTL_MS; // created at 0 with the default TTL, no lease given
    expect(file).toEqual({
      version: 2,
      generation: 17,
      nvml: {
        returns: [
          { id: 'nvml-init-failure.all', fn: 'nvmlInit_v2', device: -1, code: 12, expiresAtMs: ttl },
          { id: 'nvml-init-failure.all', fn: 'nvmlInitWithFlags', device: -1, code: 12, expiresAtMs: ttl },
          { id: 'gpu-lost.3', fn: '*', device: 3, code: 15, expiresAtMs: ttl },
          { id: 'temp', fn: 'nvmlDeviceGetTemperature', device: -1, code: 3, expiresAtMs: ttl },
          ...['nvmlDeviceGetCurrPcieLinkGeneration', 'nvmlDeviceGetMaxPcieLinkGeneration', 'nvmlDeviceGetCurrPcieLinkWidth', 'nvmlDeviceGetMaxPcieLinkWidth', 'nvmlDeviceGetPcieThroughput', 'nvmlDeviceGetPcieReplayCounter'].map((fn) => ({ id: 'pcie', fn, device: 1, code: 999, expiresAtMs: ttl })),
        ],
        xids: [{ id: 'gpu-lost.3#xid', device: 3, xid: 79, expiresAtMs: ttl }],
      },
      dcmi: {
        returns: [
          { id: 'npu', fn: 'dcmi_get_device_health', card: 2, device: 0, code: -8005, expiresAtMs: ttl },
          { id: 'npu-init-failure.all', fn: 'dcmi_init', card: -1, device: -1, code: -8005, expiresAtMs: ttl },
        ],
      },
    });
    expect(skipped).toEqual([]);
  });

  it('leaves out what the interposer cannot do, saying why', () => {
    const e = new FaultEngine({ now: () => 0 });
    e.add(presetRule('thermal-slowdown', { target: { device: 0 } }));
    e.add({ id: 'dice', what: { api: '*' }, effect: { return: 15 }, trigger: { probability: 0.5 } });
    e.add({ id: 'variant', what: { api: 'nvmlDeviceGetClockInfo(SM)' }, effect: { return: 15 } });
    e.add({ id: 'byuuid', target: { uuid: 'GPU-x' }, what: { api: '*' }, effect: { return: 15 } });
    e.add({ id: 'npu', target: { device: 9 }, what: { api: '*' }, effect: { return: -8008 } });
    e.add({ id: 'allxid', target: { device: '*' }, effect: { xid: 13 } });
    const { file, skipped } = compileRuleFile(e.list(), { now: 0, generation: 1 });
    expect(file.nvml.returns).toEqual([]);
    expect(file.nvml.xids).toEqual([]);
    expect(skipped).toEqual([
      { id: 'thermal-slowdown.0', reason: expect.stringMatching(/value overrides apply in-process only/) },
      { id: 'dice', reason: expect.stringMatching(/trigger probability is evaluated in-process only/) },
      { id: 'variant', reason: expect.stringMatching(/one variant of a call/) },
      { id: 'byuuid', reason: expect.stringMatching(/cannot address uuid GPU-x/) },
      { id: 'npu', reason: expect.stringMatching(/no DCMI card\/device known for NPU 9/) },
      { id: 'allxid', reason: expect.stringMatching(/needs the GPU list/) },
    ]);
    const resolved = compileRuleFile(e.list(), { now: 0, generation: 2, indexOfUuid: () => 4, nvidiaDevices: [0, 1] });
    expect(resolved.file.nvml.returns).toContainEqual({ id: 'byuuid', fn: '*', device: 4, code: 15, expiresAtMs: DEFAULT_TTL_MS });
    expect(resolved.file.nvml.xids).toEqual([
      { id: 'allxid#xid.0', device: 0, xid: 13, expiresAtMs: DEFAULT_TTL_MS },
      { id: 'allxid#xid.1', device: 1, xid: 13, expiresAtMs: DEFAULT_TTL_MS },
    ]);
  });

  it('includes a windowed rule only while its window is open and says when to compile again', () => {
    const e = new FaultEngine({ now: () => 1000 });
    e.add({ id: 'w', what: { api: '*' }, effect: { return: 15 }, trigger: { startInMs: 100, durationMs: 50 }, ttlMs: 10_000 });
    const before = compileRuleFile(e.list(), { now: 1000, generation: 1 });
    expect(before.file.nvml.returns).toEqual([]);
    expect(before.nextChangeAt).toBe(1100);
    const during = compileRuleFile(e.list(), { now: 1100, generation: 2 });
    expect(during.file.nvml.returns).toHaveLength(1);
    expect(during.nextChangeAt).toBe(1150);
    const after = compileRuleFile(e.list(), { now: 1150, generation: 3 });
    expect(after.file.nvml.returns).toEqual([]);
    expect(after.nextChangeAt).toBe(11_000);
  });

  it('stamps every entry with the earliest of the rule TTL, its window end and the lease', () => {
    const e = new FaultEngine({ now: () => 1000 });
    e.add({ id: 'short', target: { device: 0 }, what: { api: '*' }, effect: { return: 15, xid: 79 }, ttlMs: 5000 });
    e.add({ id: 'long', target: { device: 1 }, what: { api: '*' }, effect: { return: 15 }, ttlMs: 3_600_000 });
    e.add({ id: 'windowed', target: { device: 2 }, what: { api: '*' }, effect: { return: 15 }, trigger: { durationMs: 2000 }, ttlMs: 3_600_000 });
    e.add({ id: 'npu', target: { device: 5 }, what: { api: 'dcmi_get_device_health' }, effect: { return: -8005 }, ttlMs: 3_600_000 });
    const { file } = compileRuleFile(e.list(), { now: 1000, generation: 1, leaseUntil: 61_000, ascendAddress: () => ({ card: 2, device: 0 }) });
    expect(file.version).toBe(2);
    const expiry = (id: string) => [...file.nvml.returns, ...file.nvml.xids, ...file.dcmi.returns].filter((x) => x.id.startsWith(id)).map((x) => x.expiresAtMs);
    expect(expiry('short')).toEqual([6000, 6000]); // return + XID: the TTL comes first
    expect(expiry('long')).toEqual([61_000]); // the lease comes first
    expect(expiry('windowed')).toEqual([3000]); // the window closes first
    expect(expiry('npu')).toEqual([61_000]);
  });
});
