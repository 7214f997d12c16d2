import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/load-config.js';
import { isBrixletError } from '../../src/common/errors.js';
import { kvOptionsFromConfig, parseQuotas } from '../../src/kvcache/options.js';

/** `['--kv.slab-size', '1GiB']` → the loaded kv section. */
function kv(argv: string[]) {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = (argv[i] as string).slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    flags[name] = argv[i + 1] as string;
  }
  return loadConfig({ flags, env: {} }).config.kv;
}

describe('kvOptionsFromConfig', () => {
  it('uses whole slabs, derives the index size and parses quotas', () => {
    const o = kvOptionsFromConfig(kv(['--kv.capacity', '3GiB', '--kv.slab-size', '1GiB', '--kv.quotas', 'a=1GiB,b/c=512MiB']));
    expect(o.slabCount).toBe(3);
    expect(o.slabSize).toBe(2 ** 30);
    expect(o.maxEntries).toBe((3 * 2 ** 30) / 65536);
    expect(o.quotas.get('b/c')).toBe(512 * 2 ** 20);
    expect(o.smallRatio).toBe(0.3);
    expect(o.policy).toBe(kv([]).policy);
  });

  it('resolves the fairness limits: a quarter of the shard per connection unless set, idle timeout on, share as a fraction', () => {
    const d = kvOptionsFromConfig(kv(['--kv.capacity', '2GiB']));
    expect(d.maxWritingBytes).toBe(2 ** 29);
    expect(d.maxWriteLeases).toBe(4096);
    expect(d.idleTimeoutMs).toBe(300_000);
    expect(d.namespaceShare).toBe(0.75);
    const o = kvOptionsFromConfig(kv(['--kv.max-writing-bytes', '64MiB', '--kv.idle-timeout', '0', '--kv.namespace-share', '100', '--kv.max-write-leases', '16']));
    expect(o.maxWritingBytes).toBe(64 * 2 ** 20);
    expect(o.idleTimeoutMs).toBe(0);
    expect(o.namespaceShare).toBe(1);
    expect(o.maxWriteLeases).toBe(16);
  });

  it('shrinks the slab when the capacity is below one slab', () => {
    const o = kvOptionsFromConfig(kv(['--kv.capacity', '10MiB']));
    expect(o.slabCount).toBe(1);
    expect(o.slabSize).toBe(8 * 2 ** 20);
  });

  it('rejects slab sizes that are not page multiples and bad quotas with BRX_ERR_KV_CONFIG', () => {
    for (const flags of [
      ['--kv.slab-size', '6MiB', '--kv.page-size', '4MiB'],
      ['--kv.page-size', '3MiB', '--kv.slab-size', '6MiB'],
    ]) {
      expect(() => kvOptionsFromConfig(kv(flags))).toThrow(expect.objectContaining({ code: 'BRX_ERR_KV_CONFIG' }));
    }
    try {
      parseQuotas('a=lots');
      expect.unreachable();
    } catch (err) {
      expect(isBrixletError(err, 'BRX_ERR_KV_CONFIG')).toBe(true);
    }
    expect(() => parseQuotas('a=1GiB,a=2GiB')).toThrow(/twice/);
    expect(parseQuotas('').size).toBe(0);
  });
});
