/**
 * The policy registry: every name a routing-strategy header or --gateway.policy may give, built
 * with its options. The router builds one instance per name; the simulator builds the same objects,
 * so both run identical policy code.
 */
import { ROUTING_POLICIES } from '../../../common/config/schema.js';
import { BrixletError } from '../../../common/errors.js';
import type { RoutingPolicy, RoutingPolicyName } from '../types.js';
import { costPolicy, type CostPolicyOptions } from './cost.js';
import { kvAwarePolicy, type KvAwarePolicyOptions } from './kv-aware.js';
import { leastBusyTimePolicy } from './least-busy-time.js';
import { leastKvCachePolicy } from './least-kv-cache.js';
import { leastLatencyPolicy } from './least-latency.js';
import { leastRequestPolicy } from './least-request.js';
import { prefixCachePolicy, type PrefixCachePolicyOptions } from './prefix-cache.js';
import { randomPolicy } from './random.js';
import { throughputPolicy } from './throughput.js';

/** Every policy name, the default (cost) first. */
export const POLICIES: readonly RoutingPolicyName[] = ROUTING_POLICIES;

export interface PolicyOptions {
  readonly cost?: CostPolicyOptions;
  readonly prefixCache?: PrefixCachePolicyOptions;
  readonly kvAware?: KvAwarePolicyOptions;
}

export function createPolicy(name: RoutingPolicyName, opts: PolicyOptions = {}): RoutingPolicy {
  switch (name) {
    case 'cost':
      return costPolicy(opts.cost);
    case 'prefix-cache':
      return prefixCachePolicy(opts.prefixCache);
    case 'kv-aware':
      return kvAwarePolicy(opts.kvAware);
    case 'least-request':
      return leastRequestPolicy;
    case 'least-kv-cache':
      return leastKvCachePolicy;
    case 'least-busy-time':
      return leastBusyTimePolicy;
    case 'least-latency':
      return leastLatencyPolicy;
    case 'throughput':
      return throughputPolicy;
    case 'random':
      return randomPolicy;
    default:
      throw new BrixletError('BRX_ERR_GATEWAY_POLICY', { policy: String(name) });
  }
}

/** One instance of every policy, by name. */
export function createPolicies(opts: PolicyOptions = {}): Map<RoutingPolicyName, RoutingPolicy> {
  const out = new Map<RoutingPolicyName, RoutingPolicy>();
  for (const name of POLICIES) out.set(name, createPolicy(name, opts));
  return out;
}

/** Type guard for a routing-strategy header value. */
export function isPolicyName(s: string): s is RoutingPolicyName {
  return (POLICIES as readonly string[]).includes(s);
}
