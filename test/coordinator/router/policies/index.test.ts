import { expect, it } from 'vitest';
import { isBrixletError } from '../../../../src/common/errors.js';
import { createPolicies, createPolicy, isPolicyName, POLICIES } from '../../../../src/coordinator/router/policies/index.js';
import type { RoutingPolicyName } from '../../../../src/coordinator/router/types.js';
import { choose, fleet } from '../fixtures.js';

it('builds every policy the routing-strategy header may name, each answering for its own name', () => {
  expect(POLICIES[0]).toBe('cost');
  expect([...POLICIES].sort()).toEqual(['cost', 'kv-aware', 'least-busy-time', 'least-kv-cache', 'least-latency', 'least-request', 'prefix-cache', 'random', 'throughput']);
  const all = createPolicies();
  for (const name of POLICIES) {
    const p = createPolicy(name);
    expect(p.name).toBe(name);
    expect(all.get(name)?.name).toBe(name);
    const c = choose(p, fleet(3), 'hello world');
    expect(c.engine.name).toMatch(/^e[012]$/);
    expect(c.reason.length).toBeGreaterThan(5);
  }
});

it('rejects an unknown name with BRX_ERR_GATEWAY_POLICY and validates header values', () => {
  let caught: unknown;
  try {
    createPolicy('round-robin' as RoutingPolicyName);
  } catch (err) {
    caught = err;
  }
  expect(isBrixletError(caught, 'BRX_ERR_GATEWAY_POLICY')).toBe(true);
  expect(isPolicyName('least-request')).toBe(true);
  expect(isPolicyName('least-gpu-cache')).toBe(false);
});
