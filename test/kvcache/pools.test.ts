// --kv.pools and the per-pool access settings: parsing, defaults, id resolution and the errors an
// operator sees (BRX_ERR_KV_CONFIG naming the entry and what is wrong).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { isBrixletError } from '../../src/common/errors.js';
import { kvOptionsFromConfig, kvPoolsFromConfig } from '../../src/kvcache/options.js';
import { type IdFiles, parseIdFile, parsePools } from '../../src/kvcache/pools.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-pools-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n');
writeFileSync(join(dir, 'group'), 'root:x:0:\nengines:x:2000:alice,bob\ntenant-b:x:3000:\n');
const ids: IdFiles = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
const egid = process.getegid?.() ?? 0;

function kv(flags: Record<string, string>) {
  return loadConfig({ flags, env: {} }).config.kv;
}

describe('the default pool', () => {
  it('defaults: the agent\'s group, admits that group, 64 connections and 3/4 of the namespace slots per uid', () => {
    const o = kvOptionsFromConfig(kv({}), ids);
    expect(o).toMatchObject({ pool: 'default', group: egid, allowUids: [], allowGids: [egid], maxConnectionsPerUid: 64, maxNamespacesPerUid: 48 });
  });

  it('resolves --kv.group and the allow lists by name or number; explicit gids replace the group default', () => {
    const o = kvOptionsFromConfig(kv({ 'kv.group': 'engines', 'kv.allowUids': 'alice,1005', 'kv.allowGids': 'tenant-b,4000' }), ids);
    expect(o).toMatchObject({ group: 2000, allowUids: [1000, 1005], allowGids: [3000, 4000] });
    expect(kvOptionsFromConfig(kv({ 'kv.group': '2000' }), ids).allowGids).toEqual([2000]);
  });

  it('caps per-uid connections at --kv.max-connections and per-uid namespaces at --kv.max-namespaces', () => {
    const o = kvOptionsFromConfig(kv({ 'kv.maxConnections': '8', 'kv.maxConnectionsPerUid': '64', 'kv.maxNamespaces': '4', 'kv.maxNamespacesPerUid': '10' }), ids);
    expect([o.maxConnectionsPerUid, o.maxNamespacesPerUid]).toEqual([8, 4]);
  });

  it('refuses unknown user and group names', () => {
    expect(() => kvOptionsFromConfig(kv({ 'kv.group': 'nosuch' }), ids)).toThrow(/--kv.group: no group named "nosuch"/);
    expect(() => kvOptionsFromConfig(kv({ 'kv.allowUids': 'mallory' }), ids)).toThrow(/--kv.allow-uids: no user named "mallory"/);
  });
});

describe('--kv.pools', () => {
  it('parses entries with defaults from the --kv.* flags', () => {
    const pools = kvPoolsFromConfig(
      kv({
        'kv.capacity': '64MiB',
        'kv.slabSize': '16MiB',
        'kv.group': 'engines',
        'kv.pools': 'name=a,socket=/run/brixlet/a/kv.sock,dir=/dev/shm/brixlet-a,capacity=32MiB,group=tenant-b,uids=alice:1001,gids=4000; name=b,socket=/run/b.sock,dir=/dev/shm/b',
      }),
      ids,
    );
    expect(pools.map((p) => p.pool)).toEqual(['default', 'a', 'b']);
    expect(pools[1]).toMatchObject({ socketPath: '/run/brixlet/a/kv.sock', dir: '/dev/shm/brixlet-a', slabCount: 2, group: 3000, allowUids: [1000, 1001], allowGids: [4000] });
    // b: capacity and group from --kv.*, gids default to its group.
    expect(pools[2]).toMatchObject({ slabCount: 4, group: 2000, allowUids: [], allowGids: [2000] });
  });

  it('takes a list in a config file (strings or mappings)', () => {
    const file = join(dir, 'brixlet.yaml');
    writeFileSync(
      file,
      ['kv:', '  capacity: 64MiB', '  slabSize: 16MiB', '  pools:', '    - name=a,socket=/run/a.sock,dir=/dev/shm/a', '    - name: b', '      socket: /run/b.sock', '      dir: /dev/shm/b', '      uids: [1000, bob]', ''].join('\n'),
    );
    const loaded = loadConfig({ file, env: {} }).config.kv;
    expect(loaded.pools).toBe('name=a,socket=/run/a.sock,dir=/dev/shm/a;name=b,socket=/run/b.sock,dir=/dev/shm/b,uids=1000:bob');
    expect(kvPoolsFromConfig(loaded, ids)[2]?.allowUids).toEqual([1000, 1001]);
  });

  const bad: [string, string, RegExp][] = [
    ['missing dir', 'name=a,socket=/run/a.sock', /has no dir=/],
    ['missing name', 'socket=/run/a.sock,dir=/x', /has no name=/],
    ['not key=value', 'name=a,socket=/run/a.sock,dir=/x,oops', /"oops" is not key=value/],
    ['unknown key', 'name=a,socket=/run/a.sock,dir=/x,colour=red', /unknown key "colour"/],
    ['key twice', 'name=a,name=b,socket=/run/a.sock,dir=/x', /gives name twice/],
    ['bad name', 'name=A_1,socket=/run/a.sock,dir=/x', /lowercase letters/],
    ['the default name', 'name=default,socket=/run/a.sock,dir=/x', /is the --kv.\* pool's/],
    ['relative path', 'name=a,socket=a.sock,dir=/x', /absolute paths/],
    ['bad capacity', 'name=a,socket=/run/a.sock,dir=/x,capacity=lots', /capacity=lots is not a size/],
    ['bad uids', 'name=a,socket=/run/a.sock,dir=/x,uids=1000:', /uids=1000: is not/],
    ['unknown group', 'name=a,socket=/run/a.sock,dir=/x,group=nosuch', /--kv.pools a: group: no group named "nosuch"/],
    ['duplicate names', 'name=a,socket=/run/a.sock,dir=/x;name=a,socket=/run/b.sock,dir=/y', /pools a and a have the same name a/],
    ['duplicate sockets', 'name=a,socket=/run/a.sock,dir=/x;name=b,socket=/run/a.sock,dir=/y', /same socket \/run\/a.sock/],
    ['duplicate dirs', 'name=a,socket=/run/a.sock,dir=/x;name=b,socket=/run/b.sock,dir=/x', /same dir \/x/],
    ['the default pool\'s socket', 'name=a,socket=/run/brixlet/kv.sock,dir=/x', /pools default and a have the same socket/],
    ['the default pool\'s dir', 'name=a,socket=/run/a.sock,dir=/dev/shm/brixlet', /pools default and a have the same dir/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with BRX_ERR_KV_CONFIG`, () => {
      let err: unknown;
      try {
        kvPoolsFromConfig(kv({ 'kv.pools': text }), ids);
      } catch (e) {
        err = e;
      }
      expect(isBrixletError(err, 'BRX_ERR_KV_CONFIG')).toBe(true);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('parses nothing from an empty value', () => {
    expect(parsePools('')).toEqual([]);
    expect(parsePools(' ; ')).toEqual([]);
  });
});

describe('parseIdFile', () => {
  it('maps names to the third field, skipping junk lines', () => {
    expect([...parseIdFile('a:x:1:\n\n#c\nb:x:notanumber:\nc:x:7:').entries()]).toEqual([
      ['a', 1],
      ['c', 7],
    ]);
  });
});
