// The failure mock-up end to end: the built `brixlet up --faults.enabled` over eight simulated H100s,
// gpu-lost applied to GPU 3 over HTTP, seen on /metrics and by `brixlet diagnose --agent`, then reset.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { firstLine, run, spawnBrixlet } from './cli-process.js';

const EPHEMERAL = ['--agent.port', '0', '--gateway.port', '0', '--control.port', '0', '--agent.node-name', 'sim-node'];
const SAMPLE_MS = 500;
const TOKEN = 'e2e-fault-token-0123456789';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'brixlet-e2e-faults-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  return { dir, tokenFile, ruleFile: join(dir, 'faults.json') };
}

const healthyLine = (metrics: string, index: number) => new RegExp(`^brixlet_accelerator_healthy\\{[^}]*index="${index}"[^}]*\\} (\\d)$`, 'm').exec(metrics)?.[1];

/** A hang, not a slow machine: how long to poll before giving up. */
const HANG_MS = 20_000;

/** Polls /metrics until `done` holds. How fast it shows is a benchmark target (npm run bench:accel). */
async function until(agent: string, done: (metrics: string) => boolean): Promise<string> {
  const deadline = Date.now() + HANG_MS;
  for (;;) {
    const metrics = await (await fetch(`${agent}/metrics`)).text();
    if (done(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error(`not within ${HANG_MS} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('brixlet up --faults.enabled (built, spawned)', () => {
  it('gpu-lost on GPU 3 shows on /metrics after the next sample, diagnose fails GPU 3, reset heals it', { timeout: 90_000 }, async () => {
    const { tokenFile, ruleFile } = setup();
    writeFileSync(ruleFile, JSON.stringify({ version: 1, generation: 5, nvml: { returns: [{ id: 'stale', fn: '*', device: 0, code: 15 }], xids: [] }, dcmi: { returns: [] } }));
    const p = spawnBrixlet([
      'up',
      ...EPHEMERAL,
      '--accel',
      'sim:healthy-8x-h100',
      '--faults.enabled',
      '--faults.token-file',
      tokenFile,
      '--faults.rule-file',
      ruleFile,
      '--accel.sample-interval',
      `${SAMPLE_MS}ms`,
      '--json',
    ]);
    try {
      const { agent } = JSON.parse(await firstLine(p)) as { agent: string };
      const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
      await until(agent, (m) => healthyLine(m, 3) === '1');

      expect((await fetch(`${agent}/v1/faults`)).status).toBe(401);
      const applied = await fetch(`${agent}/v1/faults/presets/gpu-lost`, { method: 'POST', headers, body: JSON.stringify({ target: { device: 3 } }) });
      expect(applied.status).toBe(201);
      const seen = await until(agent, (m) => healthyLine(m, 3) === '0');
      expect(seen).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{[^}]*gpu="3"[^}]*\} 79$/m);
      for (const i of [0, 1, 2, 4, 5, 6, 7]) expect(healthyLine(seen, i), `GPU ${i}`).toBe('1');
      expect(seen).toMatch(/^brixlet_fault_rules_active 1$/m);

      const diag = await run(['diagnose', '--agent', agent, '--problems']);
      expect(diag.code).toBe(1);
      const failing = diag.stdout.split('\n').filter((l) => /\bFAIL\b/.test(l) && !l.startsWith('FAIL:'));
      expect(failing.length).toBeGreaterThan(0);
      expect(failing.every((l) => l.startsWith('gpu3 '))).toBe(true);
      expect(failing.some((l) => /^gpu3\s+xid\s+FAIL/.test(l))).toBe(true);

      const file = JSON.parse(readFileSync(ruleFile, 'utf8'));
      // A stale file from an earlier run was replaced at start-up, its generation continued.
      expect(file.generation).toBeGreaterThan(6);
      expect(file.nvml).toEqual({ returns: [{ id: 'gpu-lost.3', fn: '*', device: 3, code: 15, expiresAtMs: expect.any(Number) }], xids: [{ id: 'gpu-lost.3#xid', device: 3, xid: 79, expiresAtMs: expect.any(Number) }] });

      // Unhealthy after an XID is sticky only until a clean sample (health.ts): the next sample heals it.
      expect((await fetch(`${agent}/v1/faults/reset`, { method: 'POST', headers: { authorization: headers.authorization } })).status).toBe(200);
      const healed = await until(agent, (m) => healthyLine(m, 3) === '1');
      // DCGM_FI_DEV_XID_ERRORS is "the last XID seen" (dcgm-exporter): it keeps 79 after the device heals.
      expect(healed).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{[^}]*gpu="3"[^}]*\} 79$/m);
      expect(healed).toMatch(/^brixlet_fault_rules_active 0$/m);
      // Health and diagnose share their rules: the recovered GPU diagnoses clean at both levels,
      // XID 79 listed as history instead of failing with reboot-node.
      for (const level of ['1', '2']) {
        const clean = await run(['diagnose', '--agent', agent, '--json', '--level', level, '--window', '1s']);
        expect([level, clean.code, clean.stderr]).toEqual([level, 0, '']);
        const xid = (JSON.parse(clean.stdout) as { results: { check: string; device: number | null; status: string; observed: string; message: string }[] }).results.find(
          (r) => r.check === 'xid' && r.device === 3,
        );
        expect(xid).toMatchObject({ status: 'pass', observed: 'history: 79' });
        expect(xid!.message).toContain('XID 79 (GPU has fallen off the bus): the device has recovered since');
      }
      // The rule file is rewritten asynchronously after the reset.
      await vi.waitFor(() => expect(JSON.parse(readFileSync(ruleFile, 'utf8')).nvml.returns).toEqual([]), { timeout: HANG_MS });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).not.toMatch(/"level":(50|60)/);
    // Shutdown leaves an empty rule file: no interposer keeps injecting a fault its agent forgot.
    expect(JSON.parse(readFileSync(ruleFile, 'utf8'))).toMatchObject({ nvml: { returns: [], xids: [] }, dcmi: { returns: [] } });
  });

  it('refuses to start (exit 2, BRX_ERR_FAULT_TOKEN) with faults enabled and no usable token', async () => {
    const { dir } = setup();
    const short = join(dir, 'short');
    writeFileSync(short, 'too-short\n');
    for (const extra of [[], ['--faults.token-file', short], ['--faults.token-file', join(dir, 'missing')]]) {
      const r = await run(['up', ...EPHEMERAL, '--accel', 'sim:healthy-8x-h100', '--faults.enabled', ...extra], { BRIXLET_LOG_LEVEL: 'silent' });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('BRX_ERR_FAULT_TOKEN');
    }
  });
});
