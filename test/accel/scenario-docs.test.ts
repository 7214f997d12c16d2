// mocks/README.md must document every scenario key, so the docs cannot drift from the schema.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DcmiSection, NpuDeviceSpec, NvmlDeviceSpec, NvmlSection, Scenario } from '../../src/accel/scenario.js';

const readme = readFileSync(new URL('../../mocks/README.md', import.meta.url), 'utf8');
const documented = (key: string) => readme.includes(`| \`${key}\` |`);

describe('mocks/README.md', () => {
  it.each([
    ['NVIDIA device', NvmlDeviceSpec],
    ['Ascend device', NpuDeviceSpec],
    ['nvml section', NvmlSection],
    ['dcmi section', DcmiSection],
  ] as const)('has a table row for every %s key', (_what, schema) => {
    const keys = Object.keys(schema.properties);
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.filter((k) => !documented(k))).toEqual([]);
  });

  it('explains the top-level keys', () => {
    for (const key of Object.keys(Scenario.properties)) expect(readme).toContain(`\`${key}\``);
  });

  it('lists every shipped scenario', () => {
    const names = readdirSync(new URL('../../mocks/scenarios/', import.meta.url)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    expect(names.filter((n) => !readme.includes(`| \`${n}\` |`))).toEqual([]);
  });
});
