// Issue 12 (trust boundaries): a pool is the trust boundary. Its slab directory is 0750 and its slabs
// and socket 0660, all with the pool's group; peers are admitted by SO_PEERCRED. The attacker is a
// real `nobody` process (runuser), so those cases need root and skip otherwise.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KvClient } from '../../src/kvcache/client/kv-client.js';
import { FrameReader, Op, Status, frame } from '../../src/kvcache/protocol.js';
import { startKvService } from '../../src/kvcache/service.js';
import { openSlabSet } from '../../src/kvcache/slab.js';
import type { KvService } from '../../src/kvcache/types.js';
import { shardOptions } from './shard-fixture.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-tenancy-test-'));
// nobody must be able to reach the case directories (the pool directories themselves decide).
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NOBODY = 65534;
const NOGROUP = 65534;
const isRoot = process.getuid?.() === 0;
const hasRunuser = spawnSync('runuser', ['--help']).status === 0 && spawnSync('setpriv', ['--help']).status === 0;
const ROOT_ONLY = 'needs root, runuser and setpriv to run a nobody (65534) process against the pool';
if (!isRoot || !hasRunuser) console.info(`tenancy: attacker cases skipped: ${ROOT_ONLY}`);
const attackerCases = isRoot && hasRunuser;
// By path: setpriv keeps root's PATH, whose shims (pyenv) nobody may not read.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const running: KvService[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

let n = 0;
function caseDir(): string {
  const base = join(root, `case-${n++}`);
  mkdirSync(base, { mode: 0o755 });
  chmodSync(base, 0o755);
  return base;
}

async function start(over: Parameters<typeof shardOptions>[0] = {}, registry?: Registry): Promise<KvService> {
  const base = caseDir();
  const s = await startKvService(shardOptions({ dir: join(base, 'slabs'), socketPath: join(base, 'kv.sock'), ...over }), { log, ...(registry !== undefined && { registry }) });
  running.push(s);
  return s;
}

/** Runs python3 as nobody (asynchronously: the shard answers from this process); its output. */
async function asNobody(script: string, ...args: string[]): Promise<string> {
  return runAs([], script, ...args);
}

/** As nobody with `groups` as supplementary groups. */
async function runAs(groups: number[], script: string, ...args: string[]): Promise<string> {
  // setpriv takes numeric supplementary groups that no /etc/group names (runuser -G does not).
  const command =
    groups.length === 0
      ? ['runuser', '-u', 'nobody', '--']
      : ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOGROUP}`, `--groups=${groups.join(',')}`];
  const { stdout } = await promisify(execFile)(command[0] as string, [...command.slice(1), PYTHON, '-c', script, ...args], { encoding: 'utf8', timeout: 20_000 });
  return stdout.trim();
}

const OPEN_SLAB = `
import errno, sys
try:
    with open(sys.argv[1], 'r+b') as f:
        print('opened')
except OSError as e:
    print(errno.errorcode[e.errno])
`;

/** Connects, sends a PING, prints the first whole frame read (or what it got before the close). */
const PING = `
import errno, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(errno.errorcode[e.errno]); sys.exit(0)
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
except OSError:
    pass
data = b''
while len(data) < 16 or len(data) < int.from_bytes(data[0:4], 'little'):
    try:
        chunk = s.recv(4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
print('read:' + data.hex())
`;

function pingAsNobody(socketPath: string): Promise<string> {
  return asNobody(PING, socketPath, frame(Op.PING, 1, undefined).toString('hex'));
}

/** The header of the one frame a nobody process read. */
function firstFrame(out: string): { requestId: number; status: number } {
  expect(out).toMatch(/^read:/);
  const reader = new FrameReader(1 << 20);
  reader.push(Buffer.from(out.slice('read:'.length), 'hex'));
  const f = reader.next();
  if (f === undefined) throw new Error(`no whole frame in ${out}`);
  return f.header;
}

describe('pool files', () => {
  it('creates the slab directory 0750, slabs and socket 0660, all with the pool group', async () => {
    const gid = isRoot ? NOGROUP : (process.getegid?.() ?? 0);
    const s = await start({ group: gid, allowGids: [gid] });
    const dir = statSync(s.options.dir);
    expect([dir.mode & 0o7777, dir.gid]).toEqual([0o750, gid]);
    for (const f of s.summary().slabs.files) {
      const st = statSync(f);
      expect([st.mode & 0o7777, st.gid]).toEqual([0o660, gid]);
    }
    const sock = statSync(s.socketPath);
    expect([sock.mode & 0o777, sock.gid]).toEqual([0o660, gid]);
  });

  it('puts a socket inside the slab directory without loosening the directory', async () => {
    const base = caseDir();
    const s = await startKvService(shardOptions({ dir: join(base, 'slabs'), socketPath: join(base, 'slabs', 'kv.sock') }), { log });
    running.push(s);
    expect(statSync(join(base, 'slabs')).mode & 0o7777).toBe(0o750);
    expect(statSync(s.socketPath).mode & 0o777).toBe(0o660);
  });

  for (const mode of [0o755, 0o777, 0o751, 0o770]) {
    it(`refuses an existing slab directory of mode ${mode.toString(8)} (looser than 0750)`, () => {
      const dir = join(caseDir(), 'slabs');
      mkdirSync(dir);
      chmodSync(dir, mode);
      expect(() => openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log })).toThrow(
        expect.objectContaining({ code: 'BRX_ERR_KV_UNSAFE_PATH', params: expect.objectContaining({ path: dir, problem: expect.stringMatching(/mode 0\d{3}/) }) }),
      );
    });
  }

  it('keeps an existing 0700 directory as it is and accepts it', () => {
    const dir = join(caseDir(), 'slabs');
    mkdirSync(dir, { mode: 0o700 });
    const set = openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, log });
    set.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it.skipIf(!isRoot)('chgrps its own existing directory to the pool group', () => {
    const dir = join(caseDir(), 'slabs');
    mkdirSync(dir, { mode: 0o750 });
    const set = openSlabSet({ dir, slabSize: 1 << 20, count: 1, prefault: false, group: NOGROUP, log });
    set.close();
    expect(statSync(dir).gid).toBe(NOGROUP);
  });
});

describe.skipIf(!attackerCases)('a nobody process against a pool', () => {
  it('can neither open a slab file nor connect to the socket of a default pool (group = the agent\'s)', async () => {
    const s = await start();
    const slab = s.summary().slabs.files[0] as string;
    expect(await asNobody(OPEN_SLAB, slab)).toBe('EACCES');
    expect(await pingAsNobody(s.socketPath)).toBe('EACCES');
  });

  it('can open the slabs of a pool whose group it is in (the group is the way in)', async () => {
    const s = await start({ group: NOGROUP, allowGids: [NOGROUP] });
    expect(await asNobody(OPEN_SLAB, s.summary().slabs.files[0] as string)).toBe('opened');
    expect(firstFrame(await pingAsNobody(s.socketPath))).toMatchObject({ requestId: 1, status: 0 });
  }, 30_000);

  it('is refused by SO_PEERCRED (NOT_ALLOWED frame, then closed) when the allow lists exclude it, while root connects', async () => {
    const registry = new Registry();
    const s = await start({ group: NOGROUP, allowGids: [12345], allowUids: [4242] }, registry);
    expect(firstFrame(await pingAsNobody(s.socketPath))).toMatchObject({ requestId: 0, status: Status.NOT_ALLOWED });
    const closed = (await registry.getSingleMetric('brixlet_kvcache_connections_closed_total')?.get())?.values.find((v) => v.labels.reason === 'not_allowed');
    expect(closed?.value).toBe(1);
    const c = await KvClient.connect({ socketPath: s.socketPath, namespace: 'root-ns', blockSize: 64 * 1024 });
    const stats = (await c.stats()) as unknown as { peer: { uid: number; pid: number } };
    expect(stats.peer).toMatchObject({ uid: 0, pid: process.pid });
    await c.close();
  }, 30_000);

  it('admits it by a supplementary group in --kv.allow-gids, refuses it without that group', async () => {
    const s = await start({ group: NOGROUP, allowGids: [54321] });
    const ping = frame(Op.PING, 1, undefined).toString('hex');
    expect(firstFrame(await runAs([54321], PING, s.socketPath, ping))).toMatchObject({ requestId: 1, status: 0 });
    expect(firstFrame(await runAs([54322], PING, s.socketPath, ping))).toMatchObject({ requestId: 0, status: Status.NOT_ALLOWED });
  }, 30_000);

  it('admits it by uid when --kv.allow-uids names it, though its groups are not listed', async () => {
    const s = await start({ group: NOGROUP, allowGids: [12345], allowUids: [NOBODY] });
    expect(firstFrame(await pingAsNobody(s.socketPath))).toMatchObject({ requestId: 1, status: 0 });
  }, 30_000);
});
