// Rule expiry in the LD_PRELOAD interposer: entries carry an absolute wall-clock `expiresAtMs`, checked
// on every call, so the faults of an agent that was killed (and never rewrote or removed the file) end
// on their own. Version 2 files need the field (missing = expired); version 1 files keep their old
// meaning (missing = no expiry).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ASCEND, type Probe, fixtures, injectEnv, injectMissing, sleep, startProbe, workDir, writeRules } from './inject-probe.js';

const missing = injectMissing('cc');
const DLOPEN = 'dlopen:libnvidia-ml.so.1';

let n = 0;
const rulePath = (): string => join(workDir, `expiry-${++n}.json`);
const v2 = (returns: unknown[], xids: unknown[] = []) => ({ version: 2, generation: n, nvml: { returns, xids } });

describe.skipIf(missing !== '')(`libbrixlet-inject.so: rule expiry${missing}`, () => {
  let probe: Probe | undefined;
  afterEach(async () => {
    if (probe !== undefined) expect(await probe.quit()).toBe(0);
    probe = undefined;
  });

  async function start(rules: string): Promise<Probe> {
    const s = await startProbe('dlopen', DLOPEN, injectEnv(rules));
    probe = s.probe;
    expect(s.first).toBe('ready');
    expect(await s.probe.send('init')).toBe('init 0');
    return s.probe;
  }

  it('a rule ends once its expiry passes, with no agent and no change to the file', async () => {
    const rules = rulePath();
    writeRules(rules, v2([{ id: 'lost', fn: '*', device: 3, code: 15, expiresAtMs: Date.now() + 1500 }]));
    const p = await start(rules);
    expect(await p.send('temp 3')).toBe('temp 3 15 0');
    // Polls until the fault ends; the generous bound only catches "never ends".
    let last = '';
    for (let i = 0; i < 200 && last !== 'temp 3 0 41'; i++) {
      last = await p.send('temp 3');
      if (last !== 'temp 3 0 41') await sleep(50);
    }
    expect(last).toBe('temp 3 0 41');
  });

  it('ignores return rules and XIDs whose expiry has already passed; later ones still apply', async () => {
    const rules = rulePath();
    const past = Date.now() - 1000;
    const future = Date.now() + 3_600_000;
    writeRules(rules, v2(
      [
        { id: 'old', fn: 'nvmlDeviceGetTemperature', device: 0, code: 3, expiresAtMs: past },
        { id: 'live', fn: 'nvmlDeviceGetTemperature', device: 1, code: 3, expiresAtMs: future },
      ],
      [
        { id: 'x-old', device: 2, xid: 79, expiresAtMs: past },
        { id: 'x-live', device: 1, xid: 48, expiresAtMs: future },
      ],
    ));
    const p = await start(rules);
    expect(await p.send('temp 0')).toBe('temp 0 0 41');
    expect(await p.send('temp 1')).toBe('temp 1 3 0');
    expect(await p.send('register 2')).toBe('register 2 0');
    expect(await p.send('wait 0')).toBe('wait 10 0 0 -1'); // the expired XID is never delivered
    expect(await p.send('register 1')).toBe('register 1 0');
    expect(await p.send('wait 0')).toBe('wait 0 8 48 1');
    expect(p.stderr).toEqual([]);
  });

  it('a version 2 entry without expiresAtMs counts as expired; a version 1 entry without it never expires', async () => {
    const rules = rulePath();
    writeRules(rules, v2([{ id: 'bare', fn: 'nvmlDeviceGetTemperature', device: 0, code: 3 }]));
    const p = await start(rules);
    expect(await p.send('temp 0')).toBe('temp 0 0 41');
    writeRules(rules, { version: 1, generation: ++n, nvml: { returns: [{ id: 'bare', fn: 'nvmlDeviceGetTemperature', device: 0, code: 3 }] } });
    await sleep(60); // the file is checked at most every 10 ms, on the next call after that
    expect(await p.send('temp 0')).toBe('temp 0 3 0');
    expect(p.stderr).toEqual([]);
  });
});

describe.skipIf(injectMissing('python3') !== '')(`libbrixlet-inject.so: DCMI rule expiry${injectMissing('python3')}`, () => {
  it('ignores a DCMI rule whose expiry has passed', () => {
    const rules = join(workDir, `expiry-dcmi-${++n}.json`);
    writeRules(rules, {
      version: 2,
      generation: n,
      dcmi: {
        returns: [
          { id: 'old', fn: 'dcmi_get_device_health', card: 0, device: -1, code: -8005, expiresAtMs: Date.now() - 1000 },
          { id: 'live', fn: 'dcmi_get_device_health', card: 1, device: -1, code: -8005, expiresAtMs: Date.now() + 3_600_000 },
        ],
      },
    });
    const r = spawnSync('python3', [join(fixtures, 'inject-dcmi-probe.py'), 'libdcmi.so'], { env: injectEnv(rules, { BRIXLET_MOCK_SCENARIO: ASCEND }), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ health0: [0, 0], health1: [-8005, 0xdead] });
  });
});
