import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultEngine } from '../../../src/accel/fault/engine.js';
import { presetRule } from '../../../src/accel/fault/presets.js';
import { DEFAULT_RULE_FILE_LEASE_MS, MAX_RULE_FILE_BYTES, RuleFileWriter, writeFileAtomic } from '../../../src/accel/fault/rule-file-writer.js';

const dir = () => mkdtempSync(join(tmpdir(), 'brixlet-fault-'));

describe('RuleFileWriter', () => {
  it('stamps every entry with an absolute expiry within one lease, and a renewal moves it forward', async () => {
    const path = join(dir(), 'faults.json');
    let now = 1_000_000;
    const e = new FaultEngine({ now: () => now });
    e.add(presetRule('gpu-lost', { target: { device: 3 } })); // default TTL: 10 min
    const w = new RuleFileWriter(path, 30_000);
    const first = await w.write(e.list(), { now });
    const onDisk = () => JSON.parse(readFileSync(path, 'utf8')) as { version: number; nvml: { returns: { expiresAtMs: number }[]; xids: { expiresAtMs: number }[] } };
    expect(onDisk().version).toBe(2);
    expect(onDisk().nvml.returns.map((r) => r.expiresAtMs)).toEqual([1_030_000]);
    expect(onDisk().nvml.xids.map((r) => r.expiresAtMs)).toEqual([1_030_000]);
    expect(first.renewAt).toBe(1_010_000); // a third of the lease in
    now = first.renewAt!;
    const second = await w.write(e.list(), { now });
    expect(onDisk().nvml.returns.map((r) => r.expiresAtMs)).toEqual([1_040_000]);
    expect(second.renewAt).toBe(1_020_000);
    // Close to the rule's own end the TTL wins: renewals never stretch a rule past it.
    now = 1_000_000 + 10 * 60_000 - 5000;
    await w.write(e.list(), { now });
    expect(onDisk().nvml.returns.map((r) => r.expiresAtMs)).toEqual([1_600_000]);
  });

  it('uses a 60 s lease by default and asks for no renewal when the file holds no entries', async () => {
    const path = join(dir(), 'faults.json');
    const e = new FaultEngine({ now: () => 0 });
    e.add({ id: 't', what: { api: 'nvmlDeviceGetTemperature' }, effect: { return: 3 } });
    const w = new RuleFileWriter(path);
    expect(w.leaseMs).toBe(DEFAULT_RULE_FILE_LEASE_MS);
    expect(DEFAULT_RULE_FILE_LEASE_MS).toBe(60_000);
    await w.write(e.list(), { now: 0 });
    expect(JSON.parse(readFileSync(path, 'utf8')).nvml.returns[0].expiresAtMs).toBe(60_000);
    expect((await w.write([], { now: 0 })).renewAt).toBeUndefined();
  });

  it('writes the compiled file, bumps the generation on every write and leaves no temp file', async () => {
    const path = join(dir(), 'faults.json');
    const e = new FaultEngine();
    const w = new RuleFileWriter(path);
    e.add(presetRule('gpu-lost', { target: { device: 3 } }));
    await w.write(e.list(), { now: Date.now() });
    const first = JSON.parse(readFileSync(path, 'utf8'));
    expect(first).toMatchObject({ version: 2, generation: 1, nvml: { returns: [{ fn: '*', device: 3, code: 15 }], xids: [{ id: 'gpu-lost.3#xid', device: 3, xid: 79 }] } });
    e.reset();
    await w.write(e.list(), { now: Date.now() });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 2, generation: 2, nvml: { returns: [], xids: [] }, dcmi: { returns: [] } });
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('continues from the generation already on disk (an agent restart never repeats one)', async () => {
    const path = join(dir(), 'faults.json');
    writeFileSync(path, JSON.stringify({ version: 1, generation: 41 }));
    const compiled = await new RuleFileWriter(path).write([], { now: 0 });
    expect(compiled.file.generation).toBe(42);
  });

  it('serialises concurrent writes: the last call is what stays on disk', async () => {
    const path = join(dir(), 'faults.json');
    const e = new FaultEngine();
    const w = new RuleFileWriter(path);
    const writes = [];
    for (let i = 0; i < 10; i++) {
      e.add({ id: `r${i}`, what: { api: '*' }, target: { device: i }, effect: { return: 15 } });
      writes.push(w.write(e.list(), { now: Date.now() }));
    }
    const results = await Promise.all(writes);
    expect(results.map((r) => r.file.generation)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    expect(onDisk.generation).toBe(10);
    expect(onDisk.nvml.returns).toHaveLength(10);
  });

  it('reports an unwritable path with the catalog error and keeps working afterwards', async () => {
    const w = new RuleFileWriter(join(dir(), 'missing-dir', 'faults.json'));
    await expect(w.write([], { now: 0 })).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_RULE_FILE', statusCode: 500 });
    await expect(w.write([], { now: 0 })).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_RULE_FILE' });
  });

  it('refuses a file over 1 MiB without touching the old one', async () => {
    const path = join(dir(), 'faults.json');
    writeFileSync(path, 'old');
    await expect(writeFileAtomic(path, 'x'.repeat(MAX_RULE_FILE_BYTES + 1))).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_RULE_FILE' });
    expect(readFileSync(path, 'utf8')).toBe('old');
  });
});
