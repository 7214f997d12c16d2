import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseParams } from '../../../src/cli/commands/fault.js';
import { cli } from '../../helpers/cli.js';
import { type FaultAgent, faultAgent } from '../../helpers/fault-agent.js';

const fixtures = join(import.meta.dirname, '../../accel/fault/fixtures');
let a: FaultAgent;
let url: string;
let common: string[];

beforeAll(async () => {
  a = await faultAgent();
  url = await a.app.listen({ host: '127.0.0.1', port: 0 });
  common = ['--agent', url, '--token-file', a.tokenFile];
});
afterAll(() => a.close());
beforeEach(() => void a.faults.engine!.reset());

describe('brixlet fault (against an in-process agent)', () => {
  it('preset gpu-lost --device 3, then list shows it in a table and --json gives the rules', async () => {
    const added = await cli(['fault', 'preset', 'gpu-lost', '--device', '3', ...common]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added gpu-lost\.3: gpu3, class lost → return GPU_IS_LOST, XID 79 \(expires in (10m00s|9m5\ds)\)$/m);
    await a.accel.sampler.sampleNow();

    const list = await cli(['fault', 'list', ...common]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TARGET\s+WHAT\s+EFFECT\s+TRIGGER\s+APPLIED\s+EXPIRES$/);
    expect(lines[1]).toMatch(/^gpu-lost\.3\s+gpu3\s+class lost\s+return GPU_IS_LOST, XID 79\s+always\s+[1-9]\d*\/[1-9]\d*\s+\d+m\d\ds$/);

    const json = await cli(['fault', 'list', '--json', ...common]);
    expect(JSON.parse(json.stdout).rules.map((r: { id: string }) => r.id)).toEqual(['gpu-lost.3']);
  });

  it('preset with no name lists the presets; --param and --uuid reach the agent', async () => {
    const presets = await cli(['fault', 'preset', ...common]);
    expect(presets.code).toBe(0);
    expect(presets.stdout).toMatch(/^nvml-init-failure\s+nvidia\s+library\s+/m);
    const init = await cli(['fault', 'preset', 'nvml-init-failure', '--param', 'code=12', '--ttl', '5000', ...common]);
    expect(init.code).toBe(0);
    expect(a.faults.engine!.get('nvml-init-failure.all')).toMatchObject({ effect: { return: 12 }, ttlMs: 5000 });
    const links = await cli(['fault', 'preset', 'nvlink-down', '--uuid', 'GPU-344e1aa0-d0ea-ba06-729f-5261a1d94e06', '--param', 'links=0;2', ...common]);
    expect(links.code).toBe(0);
    expect(a.faults.engine!.list().find((r) => r.id.startsWith('nvlink-down.'))?.effect.values?.nvlinks).toEqual([
      { link: 0, active: false },
      { link: 2, active: false },
    ]);
  });

  it('add from --rule and from a file, delete, reset and trace', async () => {
    const rule = { id: 'hot1', target: { device: 1 }, effect: { values: { gpuTempC: 99 } } };
    const r1 = await cli(['fault', 'add', '--rule', JSON.stringify(rule), ...common]);
    expect([r1.code, r1.stdout]).toEqual([0, expect.stringContaining('added hot1: gpu1, every call → gpuTempC=99')]);
    const file = join(a.dir, 'rule.json');
    writeFileSync(file, JSON.stringify({ id: 'lost2', target: { device: 2 }, what: { api: '*' }, effect: { return: 15 } }));
    expect((await cli(['fault', 'add', file, ...common])).code).toBe(0);
    await a.accel.sampler.sampleNow();

    const trace = await cli(['fault', 'trace', '--limit', '3', ...common]);
    expect(trace.code).toBe(0);
    const rows = trace.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+RULE\s+API\s+DEVICE\s+CALL\s+ROLLED\s+RESULT$/);
    expect(rows).toHaveLength(4);

    expect((await cli(['fault', 'delete', 'hot1', ...common])).stdout).toBe('removed hot1\n');
    const reset = await cli(['fault', 'reset', ...common]);
    expect([reset.code, reset.stdout]).toEqual([0, 'removed 1 rule(s)\n']);
    expect(a.faults.engine!.size).toBe(0);
  });

  it('imports an AIBrix TOML file and lists the keys it could not use', async () => {
    const r = await cli(['fault', 'import', join(fixtures, 'gpu_mock_conf-0.2.0.toml'), ...common]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported \d+ rule\(s\) from .*gpu_mock_conf-0\.2\.0\.toml \(version 0\.2\.0\); \d+ key\(s\) not imported:$/m);
    expect(r.stdout).toMatch(/^ {2}! gpus\.3\.turbo_mode: unknown key/m);
  });

  it('exits 1 with the agent\'s code when it refuses, 2 on usage errors and when the agent is unreachable', async () => {
    const bad = await cli(['fault', 'add', '--rule', '{"what":{"api":"init","class":"lost"},"effect":{"return":9}}', ...common]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[BRX_ERR_FAULT_RULE_INVALID]');
    expect(bad.stderr).toContain('fix: ');
    const typo = await cli(['fault', 'add', '--rule', '{"what":{"api":"nvmlDeviceGetTemp"},"effect":{"return":"GPU_IS_LOST"}}', ...common]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('did you mean nvmlDeviceGetTemperature');
    const unknown = await cli(['fault', 'preset', 'gpu-melted', '--device', '1', ...common]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('BRX_ERR_FAULT_NOT_FOUND')]);
    const wrongToken = join(a.dir, 'wrong');
    writeFileSync(wrongToken, 'not-the-token-0123456789\n');
    const denied = await cli(['fault', 'list', '--agent', url, '--token-file', wrongToken]);
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringContaining('BRX_ERR_FAULT_UNAUTHORIZED')]);

    expect((await cli(['fault', 'list', '--token-file', a.tokenFile])).code).toBe(2);
    expect((await cli(['fault', 'list', '--agent', url])).code).toBe(2);
    expect((await cli(['fault', 'explode', ...common])).code).toBe(2);
    expect((await cli(['fault', 'preset', 'gpu-lost', '--device', 'three', ...common])).code).toBe(2);
    expect((await cli(['fault', 'add', '--rule', '{nope', ...common])).code).toBe(2);
    const down = await cli(['fault', 'list', '--agent', 'http://127.0.0.1:1', '--token-file', a.tokenFile]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('cannot reach the fault API at http://127.0.0.1:1/v1/faults');
    expect(down.stderr).toContain('[BRX_ERR_FAULT_AGENT]');
  });
});

describe('parseParams', () => {
  it('reads numbers, hex and ;-lists', () => {
    expect(parseParams('code=0x80E24E00,tempC=97.5')).toEqual({ code: 0x80e24e00, tempC: 97.5 });
    expect(parseParams('links=0;3')).toEqual({ links: [0, 3] });
    expect(() => parseParams('code')).toThrow(/key=value/);
    expect(() => parseParams('code=x')).toThrow(/not a number/);
  });
});
