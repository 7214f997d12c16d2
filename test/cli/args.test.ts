import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { parseArgs, stringOption, usage, validFlags } from '../../src/cli/args.js';
import { Bool, configFields, Int, Section } from '../../src/common/config/fields.js';
import { ConfigSchema } from '../../src/common/config/schema.js';

const all = configFields(ConfigSchema);
const agentOnly = all.filter((f) => ['log', 'agent'].includes(f.segments[0] ?? ''));
const spec = { command: 'agent', fields: agentOnly, allFields: all, options: [{ name: 'json', type: 'boolean' as const, description: '' }, { name: 'config', type: 'string' as const, description: '' }] };

const usageError = (argv: string[]) => {
  try {
    parseArgs(argv, spec);
  } catch (err) {
    expect((err as { code: string }).code).toBe('BRX_ERR_CLI_USAGE');
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('parseArgs', () => {
  it('reads --flag value, --flag=value, options and positionals', () => {
    const r = parseArgs(['--agent.port', '0', '--log.level=debug', '--json', '--config', 'c.yaml', 'extra', '--', '--not-a-flag'], spec);
    expect(r.configFlags).toEqual({ 'agent.port': '0', 'log.level': 'debug' });
    expect(r.options).toEqual({ json: true, config: 'c.yaml' });
    expect(r.positionals).toEqual(['extra', '--not-a-flag']);
  });

  it('accepts negative numbers as values', () => {
    expect(parseArgs(['--agent.port', '-1'], spec).configFlags).toEqual({ 'agent.port': '-1' });
  });

  it('says when a value is missing', () => {
    expect(usageError(['--agent.port'])).toBe('flag --agent.port needs a value (--agent.port VALUE or --agent.port=VALUE)');
    expect(usageError(['--agent.port', '--json'])).toMatch(/needs a value/);
  });

  it('suggests the closest flag and lists the valid ones', () => {
    const msg = usageError(['--agent.prot', '1']);
    expect(msg).toMatch(/^unknown flag --agent\.prot for 'brixlet agent' \(did you mean --agent\.port\?\); valid flags: --json, --config, --log\.level/);
    expect(msg).toContain('--agent.body-limit');
  });

  it('accepts a field alias for its flag', () => {
    const withAccel = { ...spec, fields: all.filter((f) => ['accel'].includes(f.segments[0] ?? '')) };
    expect(parseArgs(['--accel', 'sim:x'], withAccel).configFlags).toEqual({ 'accel.backend': 'sim:x' });
    expect(parseArgs(['--accel=none'], withAccel).configFlags).toEqual({ 'accel.backend': 'none' });
    expect(() => parseArgs(['--accel', 'none'], { ...spec, fields: [] })).toThrow(/--accel does not apply/);
  });

  it('says a flag of another command does not apply here', () => {
    expect(usageError(['--gateway.port', '1'])).toMatch(/^flag --gateway\.port does not apply to 'brixlet agent'/);
  });

  it('handles boolean config flags and their --no- form', () => {
    const schema = Type.Object({ x: Section({ on: Bool(false, { description: 'on' }), n: Int(1, 0, 5, { description: 'n' }) }, 'x') });
    const fields = configFields(schema);
    const s = { command: 't', fields, allFields: fields, options: [] };
    expect(parseArgs(['--x.on'], s).configFlags).toEqual({ 'x.on': true });
    expect(parseArgs(['--no-x.on'], s).configFlags).toEqual({ 'x.on': false });
    expect(parseArgs(['--x.on=false'], s).configFlags).toEqual({ 'x.on': 'false' });
    expect(() => parseArgs(['--no-x.n'], s)).toThrow(/unknown flag --no-x\.n/);
    expect(validFlags(s)).toEqual(['--x.on', '--x.n']);
  });
});

describe('shared helpers', () => {
  it('reads string options only and builds usage errors', () => {
    const args = { configFlags: {}, options: { agent: 'http://x', json: true }, positionals: [] };
    expect(stringOption(args, 'agent')).toBe('http://x');
    expect(stringOption(args, 'json')).toBeUndefined();
    expect(stringOption(args, 'missing')).toBeUndefined();
    expect(usage('bad')).toMatchObject({ code: 'BRX_ERR_CLI_USAGE', message: 'bad', exitCode: 2 });
  });
});

describe('repeatable options', () => {
  it('keeps every value of a repeatable option in order, and the last in options', () => {
    const s = { ...spec, options: [{ name: 'profile', type: 'string' as const, description: '', repeatable: true }] };
    const r = parseArgs(['--profile', 'a.json', '--profile=b.json'], s);
    expect(r.repeated).toEqual({ profile: ['a.json', 'b.json'] });
    expect(r.options).toEqual({ profile: 'b.json' });
  });
});
