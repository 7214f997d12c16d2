import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { Bool, Section, Str } from '../../../src/common/config/fields.js';
import { type ConfigProblem, formatProblems, loadConfig, redactConfig } from '../../../src/common/config/load-config.js';
import { BrixletError } from '../../../src/common/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-config-'));
function yamlFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): ConfigProblem[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BrixletError);
    expect((err as BrixletError).code).toBe('BRX_ERR_CFG_INVALID');
    return (err as BrixletError).details as ConfigProblem[];
  }
  throw new Error('expected BRX_ERR_CFG_INVALID');
}

describe('loadConfig precedence', () => {
  const file = yamlFile('p.yaml', 'agent:\n  port: 7001\n  host: 127.0.0.1\ngateway:\n  port: 7002\n  bodyLimit: 2MiB\ncontrol:\n  port: 7003\n');

  it('uses defaults when nothing is given', () => {
    const { config, sources } = loadConfig({});
    expect(config.agent.port).toBe(9464);
    expect(sources['agent.port']).toBe('default');
  });

  it('applies file < env < flag', () => {
    const { config, sources } = loadConfig({
      file,
      env: { BRIXLET_GATEWAY_PORT: '8002', BRIXLET_CONTROL_PORT: '8003' },
      flags: { 'control.port': '9003' },
    });
    expect(config.agent.port).toBe(7001);
    expect(config.agent.host).toBe('127.0.0.1');
    expect(config.gateway.port).toBe(8002);
    expect(config.gateway.bodyLimit).toBe(2 * 2 ** 20);
    expect(config.control.port).toBe(9003);
    expect(config.log.level).toBe('info');
    expect(sources).toMatchObject({
      'agent.port': `file ${file}`,
      'gateway.port': 'env BRIXLET_GATEWAY_PORT',
      'control.port': 'flag --control.port',
      'log.level': 'default',
    });
  });

  it('takes the file from BRIXLET_CONFIG when --config is absent', () => {
    expect(loadConfig({ env: { BRIXLET_CONFIG: file } }).config.agent.port).toBe(7001);
  });

  it('returns a deep-frozen object', () => {
    const { config } = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.agent)).toBe(true);
    expect(() => {
      (config.agent as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfig errors', () => {
  it('reports every problem from every source at once', () => {
    const file = yamlFile('bad.yaml', 'agnet:\n  port: 1\ngateway:\n  prot: 8080\n  bodyLimit: lots\nlog: verbose\n');
    const problems = problemsOf(() =>
      loadConfig({ file, env: { BRIXLET_AGENT_PORT: 'abc', BRIXLET_UNRELATED: 'ignored' }, flags: { 'shutdown.timeout': '1ms', 'control.port': '-1' } }),
    );
    expect(problems).toEqual([
      { key: 'agnet', source: `file ${file}`, problem: 'unknown key; did you mean agent?' },
      { key: 'gateway.prot', source: `file ${file}`, problem: 'unknown key; did you mean gateway.port?' },
      { key: 'gateway.bodyLimit', source: `file ${file}`, problem: 'must be a size such as 65536, 512KiB or 16MiB, got "lots"' },
      { key: 'log', source: `file ${file}`, problem: 'must be a mapping of keys, got "verbose"' },
      { key: 'agent.port', source: 'env BRIXLET_AGENT_PORT', problem: 'must be a whole number, got "abc"' },
      { key: 'shutdown.timeout', source: 'flag --shutdown.timeout', problem: 'must be between 100ms and 10m, got "1ms"' },
      { key: 'control.port', source: 'flag --control.port', problem: 'must be between 0 and 65535, got "-1"' },
    ]);
    expect(formatProblems(problems)).toContain('  - agent.port: must be a whole number, got "abc" (from env BRIXLET_AGENT_PORT)');
  });

  it('says which file cannot be read or parsed', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => loadConfig({ file: missing })).toThrow(expect.objectContaining({ code: 'BRX_ERR_CFG_FILE', message: `cannot read config file ${missing}: no such file` }));
    const broken = yamlFile('broken.yaml', 'agent:\n  port: [1\n');
    expect(() => loadConfig({ file: broken })).toThrow(expect.objectContaining({ code: 'BRX_ERR_CFG_FILE' }));
    const dup = yamlFile('dup.yaml', 'agent:\n  port: 1\n  port: 2\n');
    expect(() => loadConfig({ file: dup })).toThrow(expect.objectContaining({ code: 'BRX_ERR_CFG_FILE' }));
  });

  it('accepts an empty file and empty sections', () => {
    expect(loadConfig({ file: yamlFile('empty.yaml', '') }).config.agent.port).toBe(9464);
    expect(loadConfig({ file: yamlFile('nulls.yaml', 'agent:\n') }).config.agent.port).toBe(9464);
  });
});

describe('secrets and booleans (schema under test)', () => {
  const schema = Type.Object(
    {
      auth: Section(
        {
          token: Str('', { description: 'shared token', secret: true }),
          enabled: Bool(false, { description: 'turn auth on' }),
        },
        'auth',
      ),
    },
    { additionalProperties: false },
  );

  it('coerces booleans from env and flags and redacts secrets', () => {
    const { config } = loadConfig({ env: { BRIXLET_AUTH_TOKEN: 's3cret', BRIXLET_AUTH_ENABLED: 'yes' } }, schema);
    expect(config.auth).toEqual({ token: 's3cret', enabled: true });
    expect(redactConfig(config, schema)).toEqual({ auth: { token: '<redacted>', enabled: true } });
    expect(config.auth.token).toBe('s3cret');
    expect(loadConfig({ flags: { 'auth.enabled': 'off' } }, schema).config.auth.enabled).toBe(false);
    expect(problemsOf(() => loadConfig({ env: { BRIXLET_AUTH_ENABLED: 'maybe' } }, schema))[0]?.problem).toBe('must be true or false, got "maybe"');
  });

  it('leaves an unset secret visible as empty', () => {
    const { config } = loadConfig({}, schema);
    expect(redactConfig(config, schema)).toEqual({ auth: { token: '', enabled: false } });
  });
});

describe('derived defaults', () => {
  it('--gateway.kv-events makes the engine tokenizer the default, noted once', () => {
    const loaded = loadConfig({ flags: { 'gateway.kvEvents': 'true' }, env: {} });
    expect(loaded.config.gateway.tokenizer).toBe('engine');
    expect(loaded.sources['gateway.tokenizer']).toBe('default (--gateway.kv-events)');
    expect(loaded.derived).toEqual([expect.stringContaining('--gateway.tokenizer engine')]);
  });

  it('keeps a tokenizer set by flag, env or file, and the characters default without kv-events', () => {
    const flag = loadConfig({ flags: { 'gateway.kvEvents': 'true', 'gateway.tokenizer': 'characters' }, env: {} });
    expect(flag.config.gateway.tokenizer).toBe('characters');
    expect(flag.derived).toBeUndefined();
    const env = loadConfig({ env: { BRIXLET_GATEWAY_KV_EVENTS: 'true', BRIXLET_GATEWAY_TOKENIZER: 'characters' } });
    expect(env.config.gateway.tokenizer).toBe('characters');
    const file = loadConfig({ file: yamlFile('kv.yaml', 'gateway:\n  kvEvents: true\n  tokenizer: characters\n'), env: {} });
    expect(file.config.gateway.tokenizer).toBe('characters');
    expect(file.sources['gateway.tokenizer']).toMatch(/^file /);
    const plain = loadConfig({ env: {} });
    expect(plain.config.gateway.tokenizer).toBe('characters');
    expect(plain.derived).toBeUndefined();
  });
});
