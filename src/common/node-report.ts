/**
 * What an agent reports to the coordinator (PUT /v1/nodes/:name on the control port): inventory,
 * accelerator health, KV shard summary. Shared by the agent's reporter and the coordinator's
 * registry so both validate the same schema, and both read the shared bearer token the same way.
 */
import { type Static, Type } from '@sinclair/typebox';
import { readTokenFile, TOKEN_MIN_LENGTH } from './token-file.js';

const Count = Type.Integer({ minimum: 0 });
const Bytes = Type.Number({ minimum: 0 });

export const HostInventory = Type.Object(
  {
    hostname: Type.String({ maxLength: 253 }),
    os: Type.String({ maxLength: 128, description: 'Distribution and release, e.g. "Debian GNU/Linux 12".' }),
    kernel: Type.String({ maxLength: 128 }),
    arch: Type.String({ maxLength: 32 }),
    cpuModel: Type.String({ maxLength: 256 }),
    cpus: Count,
    memoryBytes: Bytes,
  },
  { additionalProperties: false },
);
export type HostInventory = Static<typeof HostInventory>;

export const AcceleratorReport = Type.Object(
  {
    vendor: Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')]),
    index: Count,
    uuid: Type.String({ maxLength: 128 }),
    name: Type.String({ maxLength: 128 }),
    health: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy'), Type.Literal('unknown')]),
    reasons: Type.Array(Type.String({ maxLength: 512 }), { maxItems: 16 }),
    memoryBytes: Type.Optional(Bytes),
  },
  { additionalProperties: false },
);
export type AcceleratorReport = Static<typeof AcceleratorReport>;

export const KvReport = Type.Object(
  {
    capacityBytes: Bytes,
    usedBytes: Bytes,
    entries: Count,
    hitRatio: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    policy: Type.String({ maxLength: 32 }),
    socket: Type.String({ maxLength: 4096 }),
    /** host:port other agents use for remote reads, when the peer transport is on. */
    peerAddress: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export type KvReport = Static<typeof KvReport>;

export const NodeReport = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-zA-Z0-9]([-a-zA-Z0-9._]*[a-zA-Z0-9])?$', description: 'Kubernetes node name (or host name).' }),
    agentUrl: Type.String({ minLength: 1, maxLength: 2048, description: 'Base URL of the node agent API.' }),
    version: Type.String({ maxLength: 64 }),
    components: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 }),
    /** Increases with every report of one agent process; a lower seq from the same bootId is ignored. */
    seq: Type.Optional(Count),
    /** Random per agent process: a new bootId means the agent restarted. */
    bootId: Type.Optional(Type.String({ maxLength: 64 })),
    /** The agent's heartbeat interval: the coordinator marks the node stale after staleAfter of them. */
    heartbeatMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
    host: Type.Optional(HostInventory),
    accelerators: Type.Optional(Type.Array(AcceleratorReport, { maxItems: 256 })),
    kv: Type.Optional(KvReport),
  },
  { additionalProperties: false },
);
export type NodeReport = Static<typeof NodeReport>;

/** The shortest shared report token accepted (as for the fault API's token). */
export const REPORT_TOKEN_MIN_LENGTH = TOKEN_MIN_LENGTH;

/**
 * Reads the bearer token agents send with their reports and the coordinator checks: one word of at
 * least 16 characters, in a file only its owner can read. `flag` names the option, for the message.
 */
export function readReportToken(path: string, flag: string): Promise<string> {
  return readTokenFile(path, { flag, code: 'BRX_ERR_REGISTRY_TOKEN' });
}
