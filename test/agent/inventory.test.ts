import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { cachedHostInventory, type InventorySource, osInventory, readHostInventory } from '../../src/agent/inventory.js';
import { HostInventory } from '../../src/common/node-report.js';

describe('host inventory', () => {
  it('reads this machine through systeminformation: values agree with node:os and fit the report schema', async () => {
    const inv = await readHostInventory();
    expect(Value.Check(HostInventory, inv)).toBe(true);
    expect(inv.hostname).toBe(hostname());
    expect(inv.kernel).toBe(release());
    expect(inv.cpus).toBe(cpus().length);
    expect(inv.memoryBytes).toBe(totalmem());
    expect(inv.arch).toBe(arch());
    expect(inv.os).not.toBe('');
    expect(inv.cpuModel).not.toBe('');
  });

  it('falls back to node:os field by field when systeminformation fails or says nothing', async () => {
    const failing: InventorySource = {
      osInfo: () => Promise.reject(new Error('lsb_release missing')),
      cpu: () => Promise.resolve({ manufacturer: '', brand: '', cores: 0 }),
      mem: () => Promise.resolve({ total: 123 }),
    };
    const inv = await readHostInventory(failing);
    const base = osInventory();
    expect(inv).toEqual({ ...base, memoryBytes: 123 });
  });

  it('clips over-long values to the schema limits', async () => {
    const noisy: InventorySource = {
      osInfo: () => Promise.resolve({ hostname: 'h', distro: 'D'.repeat(300), release: '1', kernel: 'k', arch: 'a'.repeat(40) }),
      cpu: () => Promise.resolve({ manufacturer: 'M', brand: 'B'.repeat(400), cores: 4 }),
      mem: () => Promise.resolve({ total: 1 }),
    };
    const inv = await readHostInventory(noisy);
    expect(Value.Check(HostInventory, inv)).toBe(true);
    expect(inv).toMatchObject({ hostname: 'h', cpus: 4, memoryBytes: 1 });
    expect(inv.os).toHaveLength(128);
  });

  it('is read once and cached', async () => {
    let calls = 0;
    const counting: InventorySource = {
      osInfo: () => {
        calls += 1;
        return Promise.resolve({ hostname: 'h', distro: 'Debian GNU/Linux', release: '12', kernel: 'k', arch: 'x64' });
      },
      cpu: () => Promise.resolve({ manufacturer: 'AMD', brand: 'EPYC', cores: 2 }),
      mem: () => Promise.resolve({ total: 1 }),
    };
    const get = cachedHostInventory(counting);
    const [a, b] = await Promise.all([get(), get()]);
    expect(await get()).toBe(a);
    expect(b).toBe(a);
    expect(a).toMatchObject({ os: 'Debian GNU/Linux 12', cpuModel: 'AMD EPYC' });
    expect(calls).toBe(1);
  });
});
