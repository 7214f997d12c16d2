/**
 * KV pools: the trust boundary of the node's KV cache. Each pool is its own shard (socket, slab
 * directory, capacity, owning group, allowed peers); namespaces and STATS of one are invisible from
 * another. The default pool comes from the --kv.* flags, more from --kv.pools:
 *
 *   name=a,socket=/run/brixlet/a/kv.sock,dir=/dev/shm/brixlet-a,capacity=8GiB,group=2000,uids=1000:1001,gids=3000;name=b,…
 *
 * Parsing is pure; user and group names resolve through /etc/passwd and /etc/group (paths injectable).
 */
import { readFileSync } from 'node:fs';
import { parseSize } from '../common/config/coerce.js';
import { BrixletError } from '../common/errors.js';

export const DEFAULT_POOL_NAME = 'default';

/** One --kv.pools entry as written (ids still unresolved). */
export interface PoolSpec {
  readonly name: string;
  readonly socket: string;
  readonly dir: string;
  readonly capacity?: number;
  readonly group?: string;
  readonly uids?: readonly string[];
  readonly gids?: readonly string[];
}

const KEYS = new Set(['name', 'socket', 'dir', 'capacity', 'group', 'uids', 'gids']);
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ID = /^[0-9A-Za-z_.-]+$/;

function fail(reason: string): never {
  throw new BrixletError('BRX_ERR_KV_CONFIG', { reason });
}

function ids(entry: string, key: string, value: string): string[] {
  const list = value.split(':').map((v) => v.trim());
  if (list.some((v) => !ID.test(v))) fail(`--kv.pools entry "${entry}": ${key}=${value} is not a :-separated list of ids or names`);
  return list;
}

/** `--kv.pools` text → specs; every entry checked (fields, names, no duplicates among the entries). */
export function parsePools(text: string): PoolSpec[] {
  const out: PoolSpec[] = [];
  if (text.trim() === '') return out;
  for (const entry of text.split(';').map((e) => e.trim())) {
    if (entry === '') continue;
    const fields = new Map<string, string>();
    for (const part of entry.split(',')) {
      const eq = part.indexOf('=');
      const key = part.slice(0, eq).trim();
      if (eq <= 0) fail(`--kv.pools entry "${entry}": "${part}" is not key=value`);
      if (!KEYS.has(key)) fail(`--kv.pools entry "${entry}": unknown key "${key}" (known: ${[...KEYS].join(', ')})`);
      if (fields.has(key)) fail(`--kv.pools entry "${entry}" gives ${key} twice`);
      fields.set(key, part.slice(eq + 1).trim());
    }
    for (const key of ['name', 'socket', 'dir']) if ((fields.get(key) ?? '') === '') fail(`--kv.pools entry "${entry}" has no ${key}= (name, socket and dir are required)`);
    const name = fields.get('name') as string;
    if (!NAME.test(name)) fail(`--kv.pools name "${name}" must be lowercase letters, digits and dashes (at most 63)`);
    if (name === DEFAULT_POOL_NAME) fail(`--kv.pools name "${DEFAULT_POOL_NAME}" is the --kv.* pool's; choose another`);
    const socket = fields.get('socket') as string;
    const dir = fields.get('dir') as string;
    if (!socket.startsWith('/') || !dir.startsWith('/')) fail(`--kv.pools entry "${name}": socket and dir must be absolute paths`);
    const spec: { -readonly [K in keyof PoolSpec]: PoolSpec[K] } = { name, socket, dir };
    const capacity = fields.get('capacity');
    if (capacity !== undefined) {
      const bytes = parseSize(capacity);
      if (bytes === undefined || bytes <= 0) fail(`--kv.pools entry "${name}": capacity=${capacity} is not a size such as 8GiB`);
      spec.capacity = bytes;
    }
    const group = fields.get('group');
    if (group !== undefined) {
      if (!ID.test(group)) fail(`--kv.pools entry "${name}": group=${group} is not a gid or group name`);
      spec.group = group;
    }
    const uids = fields.get('uids');
    if (uids !== undefined) spec.uids = ids(name, 'uids', uids);
    const gids = fields.get('gids');
    if (gids !== undefined) spec.gids = ids(name, 'gids', gids);
    out.push(spec);
  }
  return out;
}

/** Refuses two pools sharing a name, a socket or a slab directory (the default pool included). */
export function checkDistinct(pools: readonly { readonly name: string; readonly socketPath: string; readonly dir: string }[]): void {
  for (const key of ['name', 'socketPath', 'dir'] as const) {
    const seen = new Map<string, string>();
    for (const p of pools) {
      const other = seen.get(p[key]);
      const what = key === 'socketPath' ? 'socket' : key;
      if (other !== undefined) fail(`pools ${other} and ${p.name} have the same ${what} ${p[key]}; each pool needs its own`);
      seen.set(p[key], p.name);
    }
  }
}

/** Name → id of an /etc/passwd or /etc/group text (third field). Pure. */
export function parseIdFile(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] !== '' && /^\d+$/.test(f[2] ?? '')) out.set(f[0] as string, Number(f[2]));
  }
  return out;
}

export interface IdFiles {
  readonly passwd: string;
  readonly group: string;
}

export const SYSTEM_ID_FILES: IdFiles = { passwd: '/etc/passwd', group: '/etc/group' };

/** Resolves numeric ids and names (read once per resolver); unknown names are a BRX_ERR_KV_CONFIG. */
export function createIdResolver(files: IdFiles = SYSTEM_ID_FILES): { uid(v: string, flag: string): number; gid(v: string, flag: string): number } {
  const cache = new Map<string, Map<string, number>>();
  const table = (path: string): Map<string, number> => {
    let t = cache.get(path);
    if (t === undefined) {
      try {
        t = parseIdFile(readFileSync(path, 'utf8'));
      } catch {
        t = new Map();
      }
      cache.set(path, t);
    }
    return t;
  };
  const resolve = (v: string, flag: string, path: string, kind: string): number => {
    if (/^\d+$/.test(v)) {
      const n = Number(v);
      if (n > 0xfffffffe) fail(`${flag}: ${v} is not a valid ${kind}`);
      return n;
    }
    const n = table(path).get(v);
    if (n === undefined) fail(`${flag}: no ${kind === 'uid' ? 'user' : 'group'} named "${v}" in ${path}`);
    return n;
  };
  return {
    uid: (v, flag) => resolve(v, flag, files.passwd, 'uid'),
    gid: (v, flag) => resolve(v, flag, files.group, 'gid'),
  };
}
