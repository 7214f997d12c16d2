import { Value } from '@sinclair/typebox/value';
import { expect, it } from 'vitest';
import { ConfigSchema } from '../../../src/common/config/schema.js';

it('defaults to the documented ports and limits', () => {
  const config = Value.Default(ConfigSchema, {}) as Record<string, Record<string, unknown>>;
  expect(Value.Check(ConfigSchema, config)).toBe(true);
  expect(config.agent).toMatchObject({ host: '0.0.0.0', port: 9464, bodyLimit: 1024 * 1024 });
  expect(config.gateway).toMatchObject({ host: '0.0.0.0', port: 8080 });
  expect(config.control).toMatchObject({ host: '0.0.0.0', port: 8081 });
  expect(config.log).toMatchObject({ level: 'info', format: 'auto' });
  expect(config.shutdown).toMatchObject({ timeout: 10_000 });
});

it('rejects unknown keys at every level', () => {
  expect(Value.Check(ConfigSchema, Value.Default(ConfigSchema, { agnet: {} }))).toBe(false);
  expect(Value.Check(ConfigSchema, Value.Default(ConfigSchema, { agent: { prot: 1 } }))).toBe(false);
});
