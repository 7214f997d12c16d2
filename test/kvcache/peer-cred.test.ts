// SO_PEERCRED through koffi and the supplementary groups from /proc/<pid>/status.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStatusGroups, readPeerCred, supplementaryGroups } from '../../src/kvcache/peer-cred.js';

const dir = mkdtempSync(join(tmpdir(), 'brixlet-peer-cred-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STATUS = 'Name:\tpython3\nPid:\t42\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t4 27 2000 \n';

describe('parseStatusGroups', () => {
  it('reads Groups: when the real uid matches', () => {
    expect(parseStatusGroups(STATUS, 1000)).toEqual([4, 27, 2000]);
  });

  it('reads nothing when the file names another uid (a reused pid) or has no groups', () => {
    expect(parseStatusGroups(STATUS, 1001)).toEqual([]);
    expect(parseStatusGroups('Uid:\t5\t5\t5\t5\nGroups:\t\n', 5)).toEqual([]);
    expect(parseStatusGroups('garbage', 5)).toEqual([]);
  });

  it('gives no groups for pid 0 (a peer in a pid namespace the agent cannot see) or an unreadable file', () => {
    mkdirSync(join(dir, '42'));
    writeFileSync(join(dir, '42', 'status'), STATUS);
    expect(supplementaryGroups(42, 1000, dir)).toEqual([4, 27, 2000]);
    expect(supplementaryGroups(0, 1000, dir)).toEqual([]);
    expect(supplementaryGroups(43, 1000, dir)).toEqual([]);
  });
});

describe.skipIf(process.platform !== 'linux')('readPeerCred', () => {
  it('reads the connecting process\'s pid, uid and gid from an accepted socket', async () => {
    const path = join(dir, 'peer.sock');
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((s) => {
        resolve(s);
        server.close();
      });
      server.listen(path);
    });
    const client = connect(path);
    const s = await accepted;
    const cred = readPeerCred(s);
    s.destroy();
    client.destroy();
    expect(cred).toMatchObject({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    // SO_PEERGROUPS: the supplementary groups (Node's getgroups() adds the egid).
    const egid = process.getegid?.() ?? 0;
    const withEgid = (g: readonly number[]) => [...new Set([...g, egid])].sort((a, b) => a - b);
    expect(withEgid(cred?.groups ?? [])).toEqual(withEgid(process.getgroups?.() ?? []));
  });
});
