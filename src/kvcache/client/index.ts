/**
 * The TypeScript KV client as the package exports it (`import { KvClient } from 'brixlet/kv-client'`):
 * what an engine or tool on the node needs to talk to the agent's KV shard, and nothing internal.
 */
export { chainKeys, chainKeysForTokens, tokenBlockBytes } from './chain-keys.js';
export { type AllocOptions, KvClient, type KvClientOptions, type KvStats, type LookupOptions, type LookupResult } from './kv-client.js';
export {
  type HelloReply,
  ItemStatus,
  type ItemStatusCode,
  itemStatusName,
  KEY_BYTES,
  type LeaseRecord,
  ProtocolError,
  Status,
  type StatusCode,
  statusName,
} from '../protocol.js';
export { BrixletError, isBrixletError } from '../../common/errors.js';
