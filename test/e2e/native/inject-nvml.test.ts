// The LD_PRELOAD interposer (native/build/libbrixlet-inject.so) seen from separate NVML consumers,
// with the NVML mock standing in for the driver: return-code rules per function and device, calls
// forwarded untouched, XIDs once, hot reload of the rule file, dlopen+dlsym users, thread safety,
// and a host without the driver.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeBuild } from './mock-lib.js';
import { type Probe, injectEnv, injectLib, injectMissing, mockDcmi, mockNvml, sleep, startProbe, workDir, writeRules } from './inject-probe.js';

const missing = injectMissing('cc');
const DLOPEN = 'dlopen:libnvidia-ml.so.1'; // by name, as pynvml does: only the interposer knows where the "driver" is

let n = 0;
const rulePath = (): string => join(workDir, `faults-${++n}.json`);
const nvml = (returns: unknown[], xids: unknown[] = []) => ({ version: 1, generation: n, nvml: { returns, xids } });

describe.skipIf(missing !== '')(`libbrixlet-inject.so: NVML${missing}`, () => {
  let probe: Probe | undefined;
  afterEach(async () => {
    if (probe !== undefined) expect(await probe.quit()).toBe(0); // never crashed
    probe = undefined;
  });

  async function start(rules: string, mode = DLOPEN, kind: 'dlopen' | 'linked' | 'runpath' = 'dlopen', extra: Record<string, string> = {}) {
    const s = await startProbe(kind, mode, injectEnv(rules, extra));
    probe = s.probe;
    expect(s.first).toBe('ready');
    return s.probe;
  }

  it('has no DT_NEEDED on the vendor libraries and exports exactly the mocks’ vendor API plus dlopen', () => {
    const dynamic = execFileSync('readelf', ['-d', injectLib], { encoding: 'utf8' });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((l) => /nvidia-ml|dcmi/.test(l ?? ''))).toEqual([]);
    const exports = (lib: string) =>
      execFileSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.split(' ')[2])
        .filter((s): s is string => s !== undefined && s !== '' && !s.startsWith('brixlet_'));
    expect(exports(injectLib).sort()).toEqual([...exports(mockNvml), ...exports(mockDcmi), 'dlopen'].sort());
  });

  it('a preloaded process that never calls NVML runs normally on a host without the driver', () => {
    const r = spawnSync('/bin/true', [], { env: injectEnv(rulePath(), { BRIXLET_INJECT_REAL_NVML: '/nonexistent/libnvidia-ml.so.1' }), encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('returns an injected init failure; the real init is not called, so later calls see UNINITIALIZED', async () => {
    const rules = rulePath();
    writeRules(rules, nvml([{ id: 'r1', fn: 'nvmlInit_v2', device: -1, code: 9 }]));
    const p = await start(rules);
    expect(await p.send('init')).toBe('init 9');
    expect(await p.send('count')).toBe('count 1 0');
    expect(await p.send('callcount nvmlInit_v2')).toBe('callcount nvmlInit_v2 0');
  });

  it('a per-device `*` rule fails every call on that GPU only; the rest is forwarded with the mock’s values', async () => {
    const rules = rulePath();
    writeRules(rules, nvml([
      { id: 'r2', fn: '*', device: 3, code: 15 },
      { id: 'r3', fn: 'nvmlDeviceGetTemperature', device: 5, code: 3 },
      { id: 'noop', fn: '*', device: -1, code: 0 }, // code 0 is a no-op, not "return success"
    ]));
    const p = await start(rules);
    expect(await p.send('init')).toBe('init 0');
    expect(await p.send('count')).toBe('count 0 8');
    expect(await p.send('temp 3')).toBe('temp 3 15 0');
    expect(await p.send('name 3')).toBe('name 3 15 ');
    expect(await p.send('temp 5')).toBe('temp 5 3 0');
    expect(await p.send('name 5')).toBe('name 5 0 NVIDIA H100 80GB HBM3');
    for (const i of [0, 2, 4, 7]) expect(await p.send(`temp ${i}`)).toBe(`temp ${i} 0 41`);
    // A symbol the interposer does not export comes from the real library through the same handle;
    // the injected temperature call never reached it (out-params untouched, no side effects).
    expect(await p.send('callcount nvmlDeviceGetTemperature')).toBe('callcount nvmlDeviceGetTemperature 4');
  });

  it('programs linked against libnvidia-ml.so.1 see the same rules', async () => {
    const rules = rulePath();
    writeRules(rules, nvml([{ id: 'r2', fn: '*', device: 1, code: 15 }]));
    const p = await start(rules, 'linked', 'linked', { LD_LIBRARY_PATH: nativeBuild });
    expect(await p.send('init')).toBe('init 0');
    expect(await p.send('temp 1')).toBe('temp 1 15 0');
    expect(await p.send('temp 0')).toBe('temp 0 0 41');
  });

  it('delivers each injected XID once, to sets registered for its device, and forwards idle waits with the caller’s timeout', async () => {
    const rules = rulePath();
    writeRules(rules, nvml([], [{ id: 'x79', device: 3, xid: 79 }, { id: 'x48', device: 1, xid: 48 }]));
    const p = await start(rules);
    expect(await p.send('init')).toBe('init 0');
    expect(await p.send('register 1')).toBe('register 1 0');
    expect(await p.send('wait 0')).toBe('wait 0 8 48 1'); // eventType 0x8, eventData = XID, handle of GPU 1
    const t0 = Date.now();
    expect(await p.send('wait 300')).toBe('wait 10 0 0 -1'); // x79 waits for a set registered on GPU 3
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250); // blocked in the real wait, not spinning
    expect(await p.send('register 3')).toBe('register 3 0');
    expect(await p.send('wait 0')).toBe('wait 0 8 79 3');
    expect(await p.send('wait 0')).toBe('wait 10 0 0 -1');
    writeRules(rules, nvml([], [{ id: 'x79', device: 3, xid: 79 }, { id: 'x63', device: -1, xid: 63 }]));
    await sleep(60);
    expect(await p.send('wait 0')).toBe('wait 0 8 63 1'); // a new id comes; x79 again does not
    expect(await p.send('wait 0')).toBe('wait 10 0 0 -1');
  });

  it('reloads the rule file while the program runs; a malformed file keeps the previous rules with one stderr line', async () => {
    const rules = rulePath(); // absent at start: pass-through
    const p = await start(rules);
    expect(await p.send('init')).toBe('init 0');
    expect(await p.send('temp 0')).toBe('temp 0 0 41');
    writeRules(rules, nvml([{ id: 'r', fn: 'nvmlDeviceGetTemperature', device: 0, code: 3 }]));
    await sleep(60); // the file is checked at most every 10 ms, on the next call after that
    expect(await p.send('temp 0')).toBe('temp 0 3 0');
    writeRules(rules, '{"version":1,"nvml":{"returns":[{"id":"r","fn":"*","device":"zero","code":3}]}}');
    await sleep(60);
    expect(await p.send('temp 0')).toBe('temp 0 3 0');
    expect(await p.send('temp 1')).toBe('temp 1 0 41');
    expect(p.stderr).toEqual([expect.stringMatching(/^brixlet inject: ignoring rule file .*nvml\.returns\[0\]\.device: expected an integer; keeping the previous rules$/)]);
    writeRules(rules, nvml([{ id: 'r', fn: 'nvmlDeviceGetTemperature', device: 1, code: 999 }]));
    await sleep(60);
    expect(await p.send('temp 0')).toBe('temp 0 0 41');
    expect(await p.send('temp 1')).toBe('temp 1 999 0');
  });

  it('is thread-safe: four threads reading while the rules flip see only the two outcomes', async () => {
    const rules = rulePath();
    const p = await start(rules);
    expect(await p.send('init')).toBe('init 0');
    const result = p.send('hammer 2 500');
    let flips = 0, done = false;
    void result.then(() => (done = true));
    while (!done) {
      writeRules(rules, flips % 2 === 0 ? nvml([{ id: 'r', fn: '*', device: 2, code: 15 }]) : nvml([]));
      flips++;
      await sleep(5);
    }
    // rc 998 would be a success without the mock's value, 999 anything outside NVML's codes
    const counts = new Map((await result).split(' ').slice(1).map((kv) => kv.split(':').map(Number) as [number, number]));
    expect(flips).toBeGreaterThan(10);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([0, 15]);
    expect(p.stderr).toEqual([]);
  });

  it('keeps dlopen’s caller: a library found through the program’s own DT_RUNPATH still loads', async () => {
    const p = await start(rulePath(), 'default', 'runpath');
    expect(await p.send('runpath libbrixlet-runpath-probe.so')).toBe('runpath ok');
  });

  describe('without the real library', () => {
    const env = { BRIXLET_INJECT_REAL_NVML: '/nonexistent/libnvidia-ml.so.1' };

    it('answers LIBRARY_NOT_FOUND for init and UNINITIALIZED otherwise, with one stderr line', async () => {
      const p = await start(rulePath(), 'default', 'dlopen', env);
      expect(await p.send('init')).toBe('init 12');
      expect(await p.send('count')).toBe('count 1 0');
      expect(await p.send('temp 0')).toBe('temp 0 1 0');
      expect(await p.send('errstr 12')).toBe('errstr 12 NVML Shared Library Not Found');
      expect(p.stderr).toEqual([expect.stringContaining('brixlet inject: real NVML library unavailable (/nonexistent/libnvidia-ml.so.1')]);
    });

    it('still applies rules, and dlopen of the library fails as it would without the interposer', async () => {
      const rules = rulePath();
      writeRules(rules, nvml([{ id: 'r1', fn: 'nvmlInit_v2', device: -1, code: 18 }]));
      const p = await start(rules, 'default', 'dlopen', env);
      expect(await p.send('init')).toBe('init 18');
      const s = await startProbe('dlopen', DLOPEN, injectEnv(rules, env));
      expect(s.first).toMatch(/^dlopen-failed libnvidia-ml\.so\.1: cannot open shared object file/);
      expect(await s.probe.exited).toBe(3);
    });
  });
});
