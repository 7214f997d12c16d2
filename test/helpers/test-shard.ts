// A KV shard started in-process from config flags, in a fresh directory under /dev/shm.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { loadConfig } from '../../src/common/config/load-config.js';
import { kvOptionsFromConfig } from '../../src/kvcache/options.js';
import { startKvService } from '../../src/kvcache/service.js';
import type { KvService } from '../../src/kvcache/types.js';

export interface TestShard {
  readonly service: KvService;
  /** Closes the shard and removes its directory. */
  stop(): Promise<void>;
}

/** `flags` are config flags (`kv.capacity`, …); kv.dir and kv.socket are set here. */
export async function startTestShard(flags: Record<string, string>, registry?: Registry): Promise<TestShard> {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'brixlet-test-shard-'));
  const { config } = loadConfig({ env: {}, flags: { 'kv.dir': join(root, 'slabs'), 'kv.socket': join(root, 'kv.sock'), ...flags } });
  const service = await startKvService(kvOptionsFromConfig(config.kv), { log: pino({ level: 'silent' }), ...(registry !== undefined && { registry }) });
  return {
    service,
    stop: async () => {
      await service.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
