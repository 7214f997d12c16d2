/**
 * The host part of the node report: OS, kernel, CPU model and count, memory. Read once through
 * `systeminformation` (it shells out and reads /proc, ~50 ms) and cached for the life of the agent;
 * if it fails, node:os supplies what it can — an agent never fails to report for want of an OS name.
 * The package is loaded on first use (~50 ms, ~10 MiB): agents that do not report never pay for it.
 */
import { arch, cpus, hostname, release, totalmem, type } from 'node:os';
import type { HostInventory } from '../common/node-report.js';
import type { Logger } from '../common/logger.js';

/** The three systeminformation calls we use (injectable for a test of the fallback). */
export interface InventorySource {
  osInfo(): Promise<{ hostname: string; distro: string; release: string; kernel: string; arch: string }>;
  cpu(): Promise<{ manufacturer: string; brand: string; cores: number }>;
  mem(): Promise<{ total: number }>;
}

const clip = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max));

/** What node:os knows, used field by field where systeminformation gives nothing. */
export function osInventory(): HostInventory {
  const cpu = cpus()[0]?.model.trim() ?? '';
  return {
    hostname: clip(hostname(), 253),
    os: clip(type(), 128),
    kernel: clip(release(), 128),
    arch: clip(arch(), 32),
    cpuModel: clip(cpu, 256),
    cpus: cpus().length,
    memoryBytes: totalmem(),
  };
}

async function systemInformation(): Promise<InventorySource> {
  return (await import('systeminformation')).default;
}

export async function readHostInventory(source?: InventorySource, log?: Logger): Promise<HostInventory> {
  source ??= await systemInformation();
  const base = osInventory();
  const [os, cpu, mem] = await Promise.allSettled([source.osInfo(), source.cpu(), source.mem()]);
  for (const r of [os, cpu, mem]) if (r.status === 'rejected') log?.debug({ err: r.reason }, 'reading the host inventory: falling back to node:os');
  const o = os.status === 'fulfilled' ? os.value : undefined;
  const c = cpu.status === 'fulfilled' ? cpu.value : undefined;
  const m = mem.status === 'fulfilled' ? mem.value : undefined;
  const distro = [o?.distro, o?.release].filter((s) => s !== undefined && s !== '' && s !== 'unknown').join(' ');
  const cpuModel = [c?.manufacturer, c?.brand].filter((s) => s !== undefined && s !== '').join(' ');
  return {
    hostname: clip(o?.hostname || base.hostname, 253),
    os: clip(distro || base.os, 128),
    kernel: clip(o?.kernel || base.kernel, 128),
    arch: clip(o?.arch || base.arch, 32),
    cpuModel: clip(cpuModel || base.cpuModel, 256),
    cpus: c !== undefined && Number.isInteger(c.cores) && c.cores > 0 ? c.cores : base.cpus,
    memoryBytes: m !== undefined && Number.isFinite(m.total) && m.total > 0 ? m.total : base.memoryBytes,
  };
}

/** Reads the inventory on first use and hands out the same promise after (it never rejects). */
export function cachedHostInventory(source?: InventorySource, log?: Logger): () => Promise<HostInventory> {
  let pending: Promise<HostInventory> | undefined;
  return () => (pending ??= readHostInventory(source, log).catch(() => osInventory()));
}
