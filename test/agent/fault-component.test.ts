import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readFaultToken } from '../../src/agent/fault-component.js';
import { type FaultAgent, faultAgent } from '../helpers/fault-agent.js';

const open: FaultAgent[] = [];
afterEach(async () => {
  for (const a of open.splice(0)) await a.close();
});

describe('readFaultToken', () => {
  it('trims the token and refuses a missing, short or multi-word one with BRX_ERR_FAULT_TOKEN (exit 2)', async () => {
    const a = await faultAgent({ enabled: false });
    open.push(a);
    await expect(readFaultToken(a.tokenFile)).resolves.toBe('test-token-0123456789abcdef');
    const file = join(a.dir, 't');
    for (const [content, why] of [['short-token\n', /11 characters/], ['two words 0123456789', /white space/]] as const) {
      writeFileSync(file, content, { mode: 0o600 });
      await expect(readFaultToken(file)).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_TOKEN', exitCode: 2, message: expect.stringMatching(why) });
    }
    await expect(readFaultToken('')).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_TOKEN', message: expect.stringContaining('--faults.token-file') });
    await expect(readFaultToken(join(a.dir, 'missing'))).rejects.toMatchObject({ code: 'BRX_ERR_FAULT_TOKEN', message: expect.stringContaining('ENOENT') });
  });
});

describe('fault component', () => {
  it('disabled: the backends are not wrapped at all', async () => {
    const a = await faultAgent({ enabled: false });
    open.push(a);
    const backends = a.accel.backends;
    expect(a.faults.decorate(backends)).toBe(backends);
  });

  it('rewrites the rule file when a rule expires, and empties it on dispose', { timeout: 40_000 }, async () => {
    const a = await faultAgent();
    a.faults.engine!.add({ id: 'short', target: { device: 1 }, what: { api: '*' }, effect: { return: 15 }, ttlMs: 200 });
    a.faults.engine!.add({ id: 'long', target: { device: 2 }, what: { api: '*' }, effect: { return: 15 } });
    await a.faults.flushed();
    const ids = () => (JSON.parse(readFileSync(a.ruleFile, 'utf8')) as { nvml: { returns: { id: string }[] } }).nvml.returns.map((r) => r.id);
    expect(ids()).toEqual(['short', 'long']);
    // No request and no sample touches the engine: the timer set at nextChangeAt must do it.
    const t0 = Date.now();
    while (ids().includes('short')) {
      if (Date.now() - t0 > 15_000) throw new Error('the expired rule stayed in the rule file'); // only a hang
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ids()).toEqual(['long']);
    await a.faults.dispose();
    expect(ids()).toEqual([]);
  });

  it('keeps renewing the entries\' expiry (--faults.rule-file-lease) while the agent lives, and stops once disposed', { timeout: 40_000 }, async () => {
    const a = await faultAgent({ flags: { 'faults.ruleFileLease': '1s' } });
    open.push(a);
    a.faults.engine!.add({ id: 'lost', target: { device: 3 }, what: { api: '*' }, effect: { return: 15 } });
    await a.faults.flushed();
    const expiries = () => (JSON.parse(readFileSync(a.ruleFile, 'utf8')) as { nvml: { returns: { expiresAtMs: number }[] } }).nvml.returns.map((r) => r.expiresAtMs);
    const [first] = expiries();
    expect(first).toBeGreaterThan(Date.now()); // within the lease, well short of the 10 min TTL
    expect(first).toBeLessThan(Date.now() + 60_000);
    // Nothing changes in the engine: only the renewal timer rewrites the file.
    const t0 = Date.now();
    while ((expiries()[0] ?? 0) <= first!) {
      if (Date.now() - t0 > 15_000) throw new Error('the rule file lease was never renewed'); // only a hang
      await new Promise((r) => setTimeout(r, 50));
    }
    await a.faults.dispose();
    expect(expiries()).toEqual([]);
  });

  it('keeps trying to renew after a failed write, so a transient failure does not let the lease lapse for good', { timeout: 40_000 }, async () => {
    const a = await faultAgent({ flags: { 'faults.ruleFileLease': '1s' } });
    open.push(a);
    a.faults.engine!.add({ id: 'lost', target: { device: 3 }, what: { api: '*' }, effect: { return: 15 } });
    await a.faults.flushed();
    const expiry = () => (JSON.parse(readFileSync(a.ruleFile, 'utf8')) as { nvml: { returns: { expiresAtMs: number }[] } }).nvml.returns[0]?.expiresAtMs ?? 0;
    // A directory others may write is refused (BRX_ERR_FAULT_UNSAFE_PATH): renewals fail meanwhile.
    chmodSync(a.dir, 0o777);
    const stuck = expiry();
    await new Promise((r) => setTimeout(r, 1000));
    await a.faults.flushed();
    const during = expiry();
    chmodSync(a.dir, 0o700);
    expect(during).toBeGreaterThanOrEqual(stuck); // (a renewal may have landed just before the chmod)
    const t0 = Date.now();
    while (expiry() <= during) {
      if (Date.now() - t0 > 15_000) throw new Error('the lease was not renewed after the failure cleared'); // only a hang
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
