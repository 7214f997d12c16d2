import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../src/common/errors.js';
import { NodeReport, readReportToken, REPORT_TOKEN_MIN_LENGTH } from '../../src/common/node-report.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-report-token-'));
function tokenFile(text: string): string {
  const p = join(dir, `t-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(isBrixletError(err)).toBe(true);
    return err as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('readReportToken', () => {
  it('reads one word, trimming the trailing newline', async () => {
    expect(await readReportToken(tokenFile('abcdefghijklmnop-0123\n'), '--control.token-file')).toBe('abcdefghijklmnop-0123');
  });

  it('refuses a short token, white space inside and a missing file, naming the flag', async () => {
    const short = await failure(readReportToken(tokenFile('x'.repeat(REPORT_TOKEN_MIN_LENGTH - 1)), '--control.token-file'));
    expect(short.code).toBe('BRX_ERR_REGISTRY_TOKEN');
    expect(short.message).toContain(`at least ${REPORT_TOKEN_MIN_LENGTH}`);
    expect(short.message).toContain('--control.token-file');
    const spaced = await failure(readReportToken(tokenFile('abcdefgh ijklmnopqrst'), '--agent.coordinator-token-file'));
    expect(spaced.message).toContain('white space');
    const missing = await failure(readReportToken(join(dir, 'nope'), '--agent.coordinator-token-file'));
    expect(missing.code).toBe('BRX_ERR_REGISTRY_TOKEN');
    expect(missing.message).toContain(join(dir, 'nope'));
  });
});

describe('NodeReport schema', () => {
  const minimal = { name: 'gpu-node-1', agentUrl: 'http://10.0.0.5:9464', version: '0.1.0', components: ['accelerators'] };

  it('accepts a minimal report and a full one', () => {
    expect(Value.Check(NodeReport, minimal)).toBe(true);
    const full = {
      ...minimal,
      seq: 3,
      bootId: 'b1',
      heartbeatMs: 10_000,
      host: { hostname: 'gpu-node-1', os: 'Debian GNU/Linux 12', kernel: '6.1', arch: 'x64', cpuModel: 'EPYC', cpus: 64, memoryBytes: 2 ** 40 },
      accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'NVIDIA H100', health: 'unhealthy', reasons: ['XID 79'], memoryBytes: 80e9 }],
      kv: { capacityBytes: 2 ** 30, usedBytes: 0, entries: 0, hitRatio: null, policy: 'arc', socket: '/run/brixlet/kv.sock' },
    };
    expect(Value.Check(NodeReport, full)).toBe(true);
  });

  it('refuses unknown keys, bad names, unknown health states and out-of-range ratios', () => {
    expect(Value.Check(NodeReport, { ...minimal, extra: 1 })).toBe(false);
    expect(Value.Check(NodeReport, { ...minimal, name: 'bad name/../x' })).toBe(false);
    expect(Value.Check(NodeReport, { ...minimal, accelerators: [{ vendor: 'nvidia', index: 0, uuid: 'u', name: 'n', health: 'sick', reasons: [] }] })).toBe(false);
    expect(Value.Check(NodeReport, { ...minimal, kv: { capacityBytes: 1, usedBytes: 0, entries: 0, hitRatio: 1.5, policy: 'arc', socket: 's' } })).toBe(false);
    expect(Value.Check(NodeReport, { ...minimal, heartbeatMs: 10 })).toBe(false);
  });
});
