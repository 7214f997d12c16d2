import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { configFields, configSections, Int, Section, Str } from '../../../src/common/config/fields.js';
import { ConfigSchema } from '../../../src/common/config/schema.js';

describe('config fields', () => {
  it('derives kebab-case flags and BRIXLET_ env twins from the key path', () => {
    const f = configFields(ConfigSchema).find((x) => x.path === 'agent.nodeName');
    expect(f).toMatchObject({ flag: '--agent.node-name', env: 'BRIXLET_AGENT_NODE_NAME', kind: 'string', default: '' });
    const size = configFields(ConfigSchema).find((x) => x.path === 'gateway.bodyLimit');
    expect(size).toMatchObject({ flag: '--gateway.body-limit', env: 'BRIXLET_GATEWAY_BODY_LIMIT', kind: 'size' });
  });

  it('gives every leaf a distinct flag and env twin, a default and a description', () => {
    const fields = configFields(ConfigSchema);
    expect(new Set(fields.map((f) => f.flag)).size).toBe(fields.length);
    expect(new Set(fields.map((f) => f.env)).size).toBe(fields.length);
    for (const f of fields) {
      expect(f.default, f.path).not.toBeUndefined();
      expect(f.description.length, f.path).toBeGreaterThan(5);
    }
  });

  it('derives the BRIXLET_NVML_LIBRARY twin and the --accel alias', () => {
    const fields = configFields(ConfigSchema);
    expect(fields.find((f) => f.path === 'nvml.library')?.env).toBe('BRIXLET_NVML_LIBRARY');
    expect(fields.find((f) => f.path === 'accel.backend')).toMatchObject({ flag: '--accel.backend', alias: '--accel', env: 'BRIXLET_ACCEL_BACKEND' });
  });

  it('lists sections with descriptions', () => {
    const sections = configSections(ConfigSchema).map((s) => s.name);
    expect(sections).toEqual(['log', 'agent', 'gateway', 'control', 'optimizer', 'orchestrator', 'accel', 'nvml', 'dcmi', 'faults', 'kv', 'kube', 'shutdown']);
  });

  it('refuses a leaf not built with the helpers, so flags cannot silently go missing', () => {
    const bad = Type.Object({ s: Section({ ok: Str('x', { description: 'fine' }), raw: Type.Number() }, 'section') });
    expect(() => configFields(bad)).toThrow(/s\.raw has no kind/);
    const good = Type.Object({ s: Section({ n: Int(1, 0, 9, { description: 'n' }) }, 'section') });
    expect(configFields(good).map((f) => f.env)).toEqual(['BRIXLET_S_N']);
  });
});
