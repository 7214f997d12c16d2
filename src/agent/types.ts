/**
 * What a subsystem (accelerators, faults, KV cache) plugs into the agent: its routes, its readiness
 * check and its resources. The agent app lists enabled components in /v1/info.
 */
import type { BrixletServer } from '../common/http/create-server.js';
import type { Disposable } from '../common/lifecycle.js';
import type { Logger } from '../common/logger.js';
import type { AppMetrics } from '../common/metrics.js';
import type { ReadinessCheck } from '../common/readiness.js';
import type { MembershipSource } from '../kvcache/membership.js';

export interface AgentContext {
  /** The agent's metrics: register collectors or add text sources here. */
  readonly metrics: AppMetrics;
  readonly log: Logger;
  readonly nodeName: string;
  /**
   * The KV pool membership this agent follows (ring-follower.ts): soloMembership without a
   * coordinator, else the coordinator's ring with this node's pair keys. Read `current()` on use,
   * subscribe with `onChange`; never cache a Membership.
   */
  readonly membership: MembershipSource;
}

export interface AgentComponent extends Disposable {
  readonly name: string;
  /** False for a component that registers routes (e.g. to answer 403) but is turned off: /v1/info omits it. */
  readonly enabled?: boolean;
  /** Registers the component's routes and metrics; called once while the app is built. */
  register?(app: BrixletServer, ctx: AgentContext): void | Promise<void>;
  readonly readiness?: ReadinessCheck;
}
