import { expect, it } from 'vitest';
import { policyHeader, weightHeader } from '../../../src/coordinator/gateway/request-headers.js';

it('accepts every routing policy by name and rejects others with BRX_ERR_GATEWAY_POLICY', () => {
  expect(policyHeader(undefined)).toBeUndefined();
  expect(policyHeader('')).toBeUndefined();
  for (const p of ['cost', 'prefix-cache', 'kv-aware', 'least-request', 'least-kv-cache', 'least-busy-time', 'least-latency', 'throughput', 'random']) expect(policyHeader(p)).toBe(p);
  expect(() => policyHeader('round-robin')).toThrow(expect.objectContaining({ code: 'BRX_ERR_GATEWAY_POLICY', statusCode: 400, message: 'unknown routing-strategy round-robin' }));
});

it('reads non-negative weights and names a bad one', () => {
  expect(weightHeader('x-w', undefined)).toBeUndefined();
  expect(weightHeader('x-w', '0')).toBe(0);
  expect(weightHeader('x-w', '2.5')).toBe(2.5);
  for (const bad of ['-1', 'abc', 'Infinity']) expect(() => weightHeader('x-w', bad)).toThrow(expect.objectContaining({ code: 'BRX_ERR_GATEWAY_BAD_REQUEST', message: expect.stringContaining('x-w must be a non-negative number') }));
});
