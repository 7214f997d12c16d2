// One agent's KV side for kv-partition.test.ts, run inside a network namespace (`ip netns exec`) from
// the built dist/: a shard (engines reach it over its unix socket, which no network namespace hides)
// and either the peer listener (role "holder", on `listen`) or the remote read path (role "reader":
// a peer client to the holder at `peerAddress`, and a directory that names the holder for every key).
// Membership is static and holds one pair key (hex in BRIXLET_TEST_PAIR_KEY). Slabs and socket go under
// `root` (the test's to remove). Prints one JSON line {socket, port?} once it serves; closes everything
// and exits when stdin ends.
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { loadConfig } from '../../dist/common/config/load-config.js';
import { createLogger } from '../../dist/common/logger.js';
import { kvOptionsFromConfig } from '../../dist/kvcache/options.js';
import { PeerClient } from '../../dist/kvcache/peer/peer-client.js';
import { PeerServer } from '../../dist/kvcache/peer/peer-server.js';
import { startKvService } from '../../dist/kvcache/service.js';

const { role, self, peer, root, listen, peerAddress } = JSON.parse(process.argv[2] ?? '{}');
const key = Buffer.from(process.env.BRIXLET_TEST_PAIR_KEY ?? '', 'hex');
const log = createLogger({ level: 'warn', format: 'json' });
const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), 'kv.capacity': '64MiB' } });
const kv = await startKvService(kvOptionsFromConfig(config.kv), { log });
const members = peerAddress === undefined ? [] : [{ node: peer, peerAddress }];
const membership = { current: () => ({ version: 1, self, members, pairKeys: new Map([[peer, key]]) }), onChange: () => () => undefined };
let server;
let transport;
if (role === 'holder') {
  server = new PeerServer({ host: listen, port: 0, membership, pools: new Map([['default', kv.blocks]]) }, log);
  await server.listen();
} else {
  transport = new PeerClient({ self, pool: 'default', membership });
  const directory = { lookup: async (_ns, keys) => ({ holders: [peer], holderOf: new Uint16Array(keys.length / 16) }) };
  kv.enableRemoteRead({ transport, directory, self, options: { maxBudgetMs: 60_000 } });
}
process.stdout.write(`${JSON.stringify({ socket: kv.socketPath, ...(server !== undefined ? { port: server.address().port } : {}) })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void (async () => {
    await transport?.close();
    await server?.close();
    await kv.close();
    process.exit(0);
  })();
});
