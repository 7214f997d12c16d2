// A killed agent's faults end on their own: the built `brixlet up --faults.enabled` writes gpu-lost on
// GPU 3 to the rule file, an LD_PRELOADed NVML consumer sees it, the agent is SIGKILLed (it cannot clear
// the file), and the consumer stops seeing the fault once the agent's lease on the entries runs out.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstLine, spawnBrixlet } from './cli-process.js';
import { type Probe, injectEnv, injectMissing, sleep, startProbe } from './native/inject-probe.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.node-name', 'sim-node'];
const TOKEN = 'e2e-fault-token-0123456789';
/** A hang, not a slow machine: how long to wait before giving up. */
const HANG_MS = 20_000;
const missing = injectMissing('cc');

describe.skipIf(missing !== '')(`fault rule file lease (built agent, SIGKILL)${missing}`, () => {
  let probe: Probe | undefined;
  afterEach(async () => {
    if (probe !== undefined) expect(await probe.quit()).toBe(0);
    probe = undefined;
  });

  it('after SIGKILL, an interposed process stops seeing the agent\'s gpu-lost fault within the lease', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brixlet-e2e-lease-'));
    const tokenFile = join(dir, 'token');
    const ruleFile = join(dir, 'faults.json');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const p = spawnBrixlet(['up', ...EPHEMERAL, '--accel', 'sim:healthy-8x-h100', '--faults.enabled', '--faults.token-file', tokenFile, '--faults.rule-file', ruleFile, '--faults.rule-file-lease', '2s', '--json']);
    let killed = false;
    try {
      const { agent } = JSON.parse(await firstLine(p)) as { agent: string };
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      const applied = await fetch(`${agent}/v1/faults/presets/gpu-lost`, { method: 'POST', headers, body: JSON.stringify({ target: { device: 3 } }) });
      expect(applied.status).toBe(201);
      const returns = () => (JSON.parse(readFileSync(ruleFile, 'utf8')) as { nvml: { returns: { id: string }[] } }).nvml.returns.map((r) => r.id);
      await vi.waitFor(() => expect(returns()).toEqual(['gpu-lost.3']), { timeout: HANG_MS });

      const s = await startProbe('dlopen', 'dlopen:libnvidia-ml.so.1', injectEnv(ruleFile));
      probe = s.probe;
      expect(s.first).toBe('ready');
      expect(await probe.send('init')).toBe('init 0');
      expect(await probe.send('temp 3')).toBe('temp 3 15 0');

      p.child.kill('SIGKILL');
      killed = true;
      await p.exited;
      // The rule is still in the file: only its expiry can end it now (the 10 min TTL is far away).
      expect(returns()).toEqual(['gpu-lost.3']);
      const deadline = Date.now() + HANG_MS;
      let last = '';
      while ((last = await probe.send('temp 3')) !== 'temp 3 0 41') {
        if (Date.now() > deadline) break;
        await sleep(100);
      }
      expect(last).toBe('temp 3 0 41');
      expect(await probe.send('temp 2')).toBe('temp 2 0 41');
    } finally {
      if (!killed) p.child.kill('SIGKILL');
    }
  });
});
