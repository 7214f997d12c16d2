// The LD_PRELOAD interposer seen from a separate DCMI consumer (python3 ctypes: dlopen + dlsym), with
// the DCMI mock standing in for Huawei's library: rules by function, card and device; forwarding;
// and a host without the library.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASCEND, fixtures, injectEnv, injectMissing, workDir, writeRules } from './inject-probe.js';

const missing = injectMissing('python3');
const UNTOUCHED_HEALTH = 0xdead;

let n = 0;
function run(dcmiReturns: unknown[] | undefined, lib = 'libdcmi.so', extra: Record<string, string> = {}) {
  const rules = join(workDir, `dcmi-faults-${++n}.json`);
  if (dcmiReturns !== undefined) writeRules(rules, { version: 1, generation: n, dcmi: { returns: dcmiReturns } });
  const r = spawnSync('python3', [join(fixtures, 'inject-dcmi-probe.py'), lib], {
    env: injectEnv(rules, { BRIXLET_MOCK_SCENARIO: ASCEND, ...extra }),
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return { out: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

describe.skipIf(missing !== '')(`libbrixlet-inject.so: DCMI${missing}`, () => {
  it('forwards everything to the real library when no rule matches', () => {
    const { out, stderr } = run([{ id: 'other', fn: 'dcmi_get_device_health', card: 5, device: -1, code: -8005 }]);
    expect(out).toEqual({ init: 0, health0: [0, 0], temp0: [0, 45], health1: [0, 0], temp1: [0, 45], healthCalls: 2 });
    expect(stderr).toBe('');
  });

  it('applies rules by function name and by card/device with `*`, leaving out-params untouched', () => {
    const { out } = run([
      { id: 'r9', fn: 'dcmi_get_device_health', card: 1, device: -1, code: -8005 },
      { id: 'r10', fn: '*', card: 0, device: 0, code: -8007 },
    ]);
    expect(out).toEqual({
      init: 0,
      health0: [-8007, UNTOUCHED_HEALTH],
      temp0: [-8007, -1],
      health1: [-8005, UNTOUCHED_HEALTH],
      temp1: [0, 45],
      healthCalls: 0, // neither injected call reached the library
    });
  });

  it('fails dcmi_init only through a rule naming it (`*` does not match init)', () => {
    expect(run([{ id: 'all', fn: '*', card: -1, device: -1, code: -8008 }]).out.init).toBe(0);
    expect(run([{ id: 'init', fn: 'dcmi_init', card: -1, device: -1, code: -8005 }]).out.init).toBe(-8005);
  });

  it('without the real library: -8005 from every call, rules still apply, no crash', () => {
    const env = { BRIXLET_INJECT_REAL_DCMI: '/nonexistent/libdcmi.so' };
    const { out, stderr } = run([{ id: 'r', fn: 'dcmi_get_device_temperature', card: 1, device: 0, code: -8255 }], '-', env);
    expect(out).toEqual({ init: -8005, health0: [-8005, UNTOUCHED_HEALTH], temp0: [-8005, -1], health1: [-8005, UNTOUCHED_HEALTH], temp1: [-8255, -1] });
    expect(stderr).toMatch(/^brixlet inject: real DCMI library unavailable \(\/nonexistent\/libdcmi\.so/);
  });
});
