// Every agent a test starts gets its own KV shard directory and socket: the defaults
// (/dev/shm/brixlet, /run/brixlet/kv.sock) would collide between parallel test files, and a second
// agent on one directory refuses to start. The caller removes the directory once the agent ended.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KvTestEnv<T> {
  readonly env: T;
  /** Removes the temporary directory (call when the process or command has ended). */
  cleanup(): void;
}

/** A fresh 16MiB shard (one slab) for commands that start an agent; the caller's BRIXLET_KV_* win. */
export function kvTestEnv<T extends Record<string, string | undefined>>(command: string | undefined, env: T): KvTestEnv<T> {
  if (command !== 'agent' && command !== 'up') return { env, cleanup: () => undefined };
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-test-kv-'));
  return {
    env: {
      BRIXLET_KV_DIR: join(root, 'slabs'),
      BRIXLET_KV_SOCKET: join(root, 'kv.sock'),
      BRIXLET_KV_CAPACITY: '16MiB',
      BRIXLET_KV_SLAB_SIZE: '16MiB',
      // No peer listener unless a test asks for one: the default port 9465 would collide between files.
      BRIXLET_KV_PEER_PORT: '0',
      ...env,
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
