/**
 * The request headers that steer routing: `routing-strategy` (AIBrix's name) picks the policy for
 * one request; `x-brixlet-prefill-weight` / `x-brixlet-decode-weight` tune the cost policy's
 * trade-off between time to first token and decode load. Bad values are 400s, never ignored.
 */
import { ROUTING_POLICIES, type RoutingPolicyName } from '../../common/config/schema.js';
import { BrixletError } from '../../common/errors.js';

const POLICIES = new Set<string>(ROUTING_POLICIES);

/** The routing-strategy header, validated; undefined = the configured default. */
export function policyHeader(value: string | undefined): RoutingPolicyName | undefined {
  if (value === undefined || value === '') return undefined;
  if (!POLICIES.has(value)) throw new BrixletError('BRX_ERR_GATEWAY_POLICY', { policy: value });
  return value as RoutingPolicyName;
}

/** A non-negative number header; undefined when absent. */
export function weightHeader(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new BrixletError('BRX_ERR_GATEWAY_BAD_REQUEST', { reason: `${name} must be a non-negative number, got ${JSON.stringify(value)}` });
  return n;
}
