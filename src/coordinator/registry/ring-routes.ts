/**
 * GET /v1/ring on the control port: the KV pool's membership (who, where, which version) is open
 * to read like the node list. With `?node=NAME` the reply also carries NAME's pair keys, and then
 * the caller must hold credentials that may report NAME (control-auth.ts): NAME's node token, the
 * ServiceAccount token of an agent pod on NAME, or the cluster secret (which may act as any node
 * already, so it may read any one node's keys, never all at once). A coordinator without
 * credentials (loopback or --control.insecure) trusts every caller, for keys as for writes.
 */
import { Type } from '@sinclair/typebox';
import type { BrixletServer } from '../../common/http/create-server.js';
import { RingView } from '../../common/pool-ring.js';
import type { ControlAuth } from './control-auth.js';
import type { PoolMembership } from './pool-membership.js';

export interface RingRouteDeps {
  readonly membership: PoolMembership;
  readonly auth?: ControlAuth;
}

const RingQuery = Type.Object({ node: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })) }, { additionalProperties: false });

export function registerRingRoutes(app: BrixletServer, deps: RingRouteDeps): void {
  const { membership, auth } = deps;
  app.get(
    '/v1/ring',
    {
      schema: {
        summary: 'The KV pool\'s members (ready nodes with a peer address) and version; with ?node=NAME and NAME\'s credentials, also NAME\'s pair keys.',
        description:
          'Agents fetch it when the ringVersion of a report reply differs from theirs. Every agent builds the same consistent-hash ring (slots, vnodes) from the members. pairKeys (base64url, 32 bytes each) need the credentials that may report NAME.',
        querystring: RingQuery,
        response: { 200: RingView },
      },
    },
    async (request) => {
      const { node } = request.query;
      const view = membership.view();
      if (node === undefined) return view;
      if (auth?.enabled === true) await auth.check(request.headers.authorization, 'pair-keys', node);
      return { ...view, pairKeys: membership.pairKeysOf(node) };
    },
  );
}
