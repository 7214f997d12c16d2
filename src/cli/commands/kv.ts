/**
 * `brixlet kv`: a debugging client of the node KV shard socket (docs/kv-protocol.md) — stats,
 * put, get, lookup. It speaks the same protocol as engines, including the slab copies, so a
 * put/get round trip proves the socket, the slab files and their permissions work on this node.
 * Exit 0 done, 1 the shard refused or the block is not cached, 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseSize } from '../../common/config/coerce.js';
import { chainKeys } from '../../kvcache/client/chain-keys.js';
import { KvConnection } from '../../kvcache/client/connection.js';
import { KvClient, type KvStats, type LookupOptions } from '../../kvcache/client/kv-client.js';
import { ItemStatus, MAX_REMOTE_BUDGET_MS, Op, decodeJson, itemStatusName } from '../../kvcache/protocol.js';
import { DEFAULT_KV_SOCKET } from '../../kvcache/service.js';
import { stringOption, usage } from '../args.js';
import { type Command, type CommandContext, CONFIG_OPTION, JSON_OPTION } from '../types.js';
import { renderLookup, renderStats } from './kv-table.js';

const SUBCOMMANDS = ['stats', 'put', 'get', 'lookup'] as const;

/** What `brixlet agent`/`up` print next to the KV socket. */
export const KV_ROLE = 'KV cache shard socket for engines (docs/kv-protocol.md; brixlet kv stats)';
type Subcommand = (typeof SUBCOMMANDS)[number];

export const kvCommand: Command = {
  name: 'kv',
  summary: 'Talk to this node\'s KV cache shard: stats, put, get, lookup (debugging)',
  usage: 'brixlet kv <stats|put|get|lookup> [--socket PATH] [--namespace NS] [--block-size SIZE] [--json]',
  description: [
    'Connects to the agent\'s KV shard socket like an engine does (HELLO binds one namespace), and',
    'moves block bytes through the shared slab files itself.',
    '',
    '  stats                        shard summary (capacity, bytes, hit ratio, namespaces)',
    '  put --key HEX32|--text STR   store one block read from --file PATH or stdin',
    '  get --key HEX32|--text STR   print the cached block (or write it to --out FILE)',
    '  lookup HEX32…                longest cached prefix of a key chain, with its leases',
    '',
    'get and lookup with --remote-budget MS (0-60000; 0 = the agent\'s --kv.remote-budget): the',
    'shard first fetches, within MS, every block its node lacks that another agent of the pool',
    'holds (LOOKUP_REMOTE with FETCH_ALL: even one block, past the agent\'s minimum gap),',
    'and keeps it, so the next get is local. Only blocks other agents published (hot: hit after',
    'they were written) can be found.',
    '',
    'A key is 16 bytes (32 hex digits). --text STR uses the chained key of that text',
    '(sha256 of 16 zero bytes ‖ STR, first 16 bytes), so put and get agree without hex.',
    'The socket is --socket, else the config\'s kv.socket (BRIXLET_KV_SOCKET); when that is the',
    'default and absent, the per-user fallback <tmpdir>/brixlet-<uid>/kv.sock the agent uses.',
    'A namespace keeps the block size of its first HELLO; use the same --block-size for it.',
    '',
    'Exit status: 0 done, 1 the shard refused or the block is not cached, 2 bad usage.',
  ].join('\n'),
  examples: [
    'brixlet kv stats',
    'echo hello | brixlet kv put --text greeting',
    'brixlet kv get --text greeting',
    'brixlet kv put --key 00112233445566778899aabbccddeeff --file block.bin --namespace llama-3-8b/bf16 --block-size 2MiB',
    'brixlet kv get --key 00112233445566778899aabbccddeeff --out copy.bin --namespace llama-3-8b/bf16 --block-size 2MiB',
    'brixlet kv lookup 00112233445566778899aabbccddeeff --json --socket /run/brixlet/kv.sock',
    'brixlet kv get --text greeting --remote-budget 200 --socket /run/brixlet/kv-1.sock',
  ],
  subcommands: [
    { name: 'stats', summary: 'Show the shard summary' },
    { name: 'put', summary: 'Store one block under a key' },
    { name: 'get', summary: 'Read one cached block' },
    { name: 'lookup', summary: 'Longest cached prefix of a key chain' },
  ],
  configSections: [],
  options: [
    { name: 'socket', type: 'string', valueName: 'PATH', description: 'The shard socket (default: the config\'s kv.socket).' },
    { name: 'namespace', type: 'string', valueName: 'NS', description: 'Namespace to bind (default "default").' },
    { name: 'block-size', type: 'string', valueName: 'SIZE', description: 'The namespace block size, e.g. 1MiB (default 1MiB).' },
    { name: 'layout', type: 'string', valueName: 'SIG', description: 'Layout signature of the namespace (default empty).' },
    { name: 'key', type: 'string', valueName: 'HEX32', description: 'put/get: the 16-byte key as 32 hex digits.' },
    { name: 'text', type: 'string', valueName: 'STR', description: 'put/get: use the chained key of this text instead of --key.' },
    { name: 'file', type: 'string', valueName: 'PATH', description: 'put: read the block from PATH (default stdin).' },
    { name: 'out', type: 'string', valueName: 'FILE', description: 'get: write the block to FILE (default stdout).' },
    { name: 'timeout', type: 'string', valueName: 'MS', description: 'Connect and reply timeout in milliseconds (default 10000).' },
    { name: 'remote-budget', type: 'string', valueName: 'MS', description: 'get/lookup: also fetch the blocks this node lacks from other agents, within MS (0-60000; 0 = the agent\'s --kv.remote-budget).' },
    JSON_OPTION,
    CONFIG_OPTION,
  ],
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw usage(`${sub === undefined ? 'missing subcommand' : `unknown subcommand '${sub}'`} for 'brixlet kv'; valid: ${SUBCOMMANDS.join(', ')}`);
    }
    if (sub !== 'lookup' && rest.length > 0) throw usage(`'brixlet kv ${sub}' takes no arguments, got '${rest.join(' ')}'`);
    const opts = connectOptions(ctx);
    if (sub === 'stats' && stringOption(ctx.args, 'namespace') === undefined) {
      // STATS needs no HELLO: do not create (or clash with) a namespace just to look.
      const conn = await KvConnection.open({ socketPath: opts.socketPath, timeoutMs: opts.timeoutMs });
      try {
        const s = decodeJson(await conn.request(Op.STATS)) as KvStats;
        ctx.io.stdout.write(json(ctx) ? `${JSON.stringify(s, null, 2)}\n` : renderStats(s, ctx.out));
        return 0;
      } finally {
        await conn.close();
      }
    }
    const client = await KvClient.connect(opts);
    try {
      return await RUN[sub as Subcommand](ctx, client, rest);
    } finally {
      await client.close();
    }
  },
};

type Run = (ctx: CommandContext, client: KvClient, args: readonly string[]) => Promise<number>;

const RUN: Record<Subcommand, Run> = {
  async stats(ctx, client) {
    const s = await client.stats();
    ctx.io.stdout.write(json(ctx) ? `${JSON.stringify(s, null, 2)}\n` : renderStats(s, ctx.out));
    return 0;
  },
  async put(ctx, client) {
    const key = blockKey(ctx);
    const data = await readBlock(ctx, client.blockSize);
    const status = (await client.put(key, [data]))[0] as number;
    const stored = status === ItemStatus.OK || status === ItemStatus.EXISTS;
    const result = { key: key.toString('hex'), bytes: data.length, status: itemStatusName(status) };
    if (json(ctx)) ctx.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (stored) ctx.io.stdout.write(status === ItemStatus.OK ? `stored ${result.key} (${data.length} bytes)\n` : `${result.key} is already cached\n`);
    if (!stored) ctx.io.stderr.write(`${ctx.err.red(`brixlet: the shard did not store ${result.key}: ${result.status}`)} ${ctx.err.dim(putHint(status))}\n`);
    return stored ? 0 : 1;
  },
  async get(ctx, client) {
    const key = blockKey(ctx);
    const [block] = await client.get(key, remoteOptions(ctx));
    if (block === undefined) {
      ctx.io.stderr.write(`${ctx.err.red(`brixlet: ${key.toString('hex')} is not cached in namespace ${client.namespace}`)}\n`);
      return 1;
    }
    const out = stringOption(ctx.args, 'out');
    if (out === undefined) ctx.io.stdout.write(block);
    else {
      await writeFile(out, block);
      ctx.io.stderr.write(`wrote ${block.length} bytes to ${out}\n`);
    }
    return 0;
  },
  async lookup(ctx, client, args) {
    if (args.length === 0) throw usage('give the key chain: brixlet kv lookup HEX32 [HEX32…]');
    const keys = Buffer.concat(args.map((a) => hexKey(a, 'key')));
    const remote = remoteOptions(ctx);
    const { hits, leases, remoteHits } = await client.lookup(keys, remote);
    if (leases.length > 0) await client.release(leases.map((l) => l.leaseId));
    const rows = leases.map((l, i) => ({ key: args[i] as string, leaseId: l.leaseId, slab: l.slab, path: client.hello.slabs[l.slab] ?? '', offset: l.offset, length: l.length }));
    ctx.io.stdout.write(json(ctx) ? `${JSON.stringify({ requested: args.length, hits, ...(remote.remoteBudgetMs !== undefined && { remote: remoteHits }), blocks: rows }, null, 2)}\n` : renderLookup(args.length, hits, rows, ctx.out));
    if (!json(ctx) && remoteHits > 0) ctx.io.stdout.write(`${remoteHits} of them fetched from other agents\n`);
    return hits > 0 ? 0 : 1;
  },
};

const json = (ctx: CommandContext): boolean => ctx.args.options.json === true;

/** --remote-budget MS: a LOOKUP_REMOTE that fetches every missing block with a holder (a user asking for a block wants it). */
function remoteOptions(ctx: CommandContext): LookupOptions {
  const text = stringOption(ctx.args, 'remote-budget');
  if (text === undefined) return {};
  const ms = Number(text);
  if (!/^\d+$/.test(text.trim()) || ms > MAX_REMOTE_BUDGET_MS) throw usage(`--remote-budget must be a whole number of milliseconds from 0 to ${MAX_REMOTE_BUDGET_MS}, got '${text}'`);
  return { remoteBudgetMs: ms, fetchAll: true };
}

function connectOptions(ctx: CommandContext) {
  const blockText = stringOption(ctx.args, 'block-size') ?? '1MiB';
  const blockSize = parseSize(blockText);
  if (blockSize === undefined || blockSize < 1 || blockSize > 0xffffffff) throw usage(`--block-size must be a size like 1MiB or 262144, got '${blockText}'`);
  const timeoutText = stringOption(ctx.args, 'timeout');
  const timeoutMs = timeoutText === undefined ? 10_000 : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw usage(`--timeout must be a whole number of milliseconds, got '${timeoutText}'`);
  return {
    socketPath: socketPath(ctx),
    namespace: stringOption(ctx.args, 'namespace') ?? 'default',
    blockSize,
    layout: stringOption(ctx.args, 'layout') ?? '',
    timeoutMs,
  };
}

/** --socket, else kv.socket from config/env; the default path falls back like the agent does. */
export function socketPath(ctx: CommandContext): string {
  const given = stringOption(ctx.args, 'socket');
  if (given !== undefined) return given;
  const configured = ctx.loadConfig().config.kv.socket;
  if (configured !== DEFAULT_KV_SOCKET || existsSync(configured)) return configured;
  const fallback = join(tmpdir(), `brixlet-${userInfo().uid}`, 'kv.sock');
  return existsSync(fallback) ? fallback : configured;
}

function hexKey(text: string, what: string): Buffer {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) throw usage(`${what} must be 32 hex digits (16 bytes), got '${text}'`);
  return Buffer.from(text, 'hex');
}

function blockKey(ctx: CommandContext): Buffer {
  const hex = stringOption(ctx.args, 'key');
  const text = stringOption(ctx.args, 'text');
  if ((hex === undefined) === (text === undefined)) throw usage('give exactly one of --key HEX32 or --text STRING');
  return hex !== undefined ? hexKey(hex, '--key') : chainKeys([Buffer.from(text as string, 'utf8')]);
}

async function readBlock(ctx: CommandContext, max: number): Promise<Buffer> {
  const file = stringOption(ctx.args, 'file');
  let data: Buffer;
  if (file !== undefined) {
    try {
      data = await readFile(file);
    } catch (err) {
      throw usage(`cannot read ${file}: ${(err as Error).message}`);
    }
  } else {
    if (process.stdin.isTTY === true) throw usage('give the block with --file PATH or on stdin (e.g. echo hello | brixlet kv put --text greeting)');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    data = Buffer.concat(chunks);
  }
  if (data.length === 0) throw usage('the block is empty');
  if (data.length > max) throw usage(`the block is ${data.length} bytes; the namespace block size is ${max} (pass a larger --block-size for a new namespace)`);
  return data;
}

function putHint(status: number): string {
  switch (status) {
    case ItemStatus.BUSY:
      return 'another client is writing this key right now';
    case ItemStatus.FULL:
      return 'every evictable block is leased; retry later';
    case ItemStatus.QUOTA:
      return 'the namespace is at its --kv.quotas limit';
    case ItemStatus.BAD_LENGTH:
      return 'the block is longer than the namespace block size';
    default:
      return 'see docs/kv-protocol.md §3';
  }
}
