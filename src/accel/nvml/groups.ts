/**
 * The telemetry probe groups of a GPU: memory, utilization, thermal, power, clocks, pcie. Each
 * reads its NVML calls into `ctx.values`; a call that fails leaves its fields undefined.
 */
import type { GroupRead, ProbeGroup } from '../types.js';
import type { NvmlLibrary, Scratch } from './library.js';
import { type NvmlDevice, ReadContext } from './read-context.js';
import { NVML_ERROR_ARGUMENT_VERSION_MISMATCH, NVML_ERROR_FUNCTION_NOT_FOUND, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS } from './returns.js';
import { readEcc, readNvlink, readProcesses, readRecovery, readRetirement } from './health-groups.js';

/** nvmlMemory_v2_t: sizeof (40) | version 2 << 24. */
const MEMORY_V2_VERSION = 0x02000028;
const TEMPERATURE_GPU = 0;
const THRESHOLD_SHUTDOWN = 0;
const THRESHOLD_SLOWDOWN = 1;
const FIELD_MEMORY_TEMP = 82;
const CLOCK_GRAPHICS = 0;
const CLOCK_SM = 1;
const CLOCK_MEM = 2;
const PCIE_TX = 0;
const PCIE_RX = 1;

async function readMemory(ctx: ReadContext): Promise<void> {
  const s = ctx.scratch;
  const v = ctx.values;
  const s0 = s.slots[0];
  if (!ctx.isUnsupported('memoryV2')) {
    s.clear(0);
    s.setU32(0, 0, MEMORY_V2_VERSION);
    // A driver that predates the v2 struct says so with one of these: fall back to v1 quietly.
    const quiet = [NVML_ERROR_NOT_SUPPORTED, NVML_ERROR_FUNCTION_NOT_FOUND, NVML_ERROR_ARGUMENT_VERSION_MISMATCH];
    const rc = await ctx.call('memoryV2', undefined, [s0], quiet);
    if (rc === NVML_SUCCESS) {
      v.memoryTotalBytes = s.u64(0, 8);
      v.memoryReservedBytes = s.u64(0, 16);
      v.memoryFreeBytes = s.u64(0, 24);
      v.memoryUsedBytes = s.u64(0, 32);
      return;
    }
    if (!quiet.includes(rc)) return;
    ctx.device.unsupported.add(ctx.label('memoryV2'));
  }
  if (await ctx.call('memory', undefined, [s0]) === NVML_SUCCESS) {
    v.memoryTotalBytes = s.u64(0, 0);
    v.memoryFreeBytes = s.u64(0, 8);
    v.memoryUsedBytes = s.u64(0, 16);
  }
}

async function readUtilization(ctx: ReadContext): Promise<void> {
  const s = ctx.scratch;
  const v = ctx.values;
  const [s0, s1] = s.slots;
  if (await ctx.call('utilization', undefined, [s0]) === NVML_SUCCESS) {
    v.gpuUtilPercent = s.u32(0, 0);
    v.memoryUtilPercent = s.u32(0, 4);
  }
  // Second out-parameter is the sampling period (µs), not needed.
  if (await ctx.call('encoder', undefined, [s0, s1]) === NVML_SUCCESS) v.encoderUtilPercent = s.u32(0);
  if (await ctx.call('decoder', undefined, [s0, s1]) === NVML_SUCCESS) v.decoderUtilPercent = s.u32(0);
}

async function readThermal(ctx: ReadContext): Promise<void> {
  const v = ctx.values;
  v.gpuTempC = await ctx.u32('temperature', undefined, TEMPERATURE_GPU);
  v.memoryTempC = await ctx.field(FIELD_MEMORY_TEMP);
  v.slowdownTempC = await ctx.u32('temperatureThreshold', 'SLOWDOWN', THRESHOLD_SLOWDOWN);
  v.shutdownTempC = await ctx.u32('temperatureThreshold', 'SHUTDOWN', THRESHOLD_SHUTDOWN);
}

async function readPower(ctx: ReadContext): Promise<void> {
  const v = ctx.values;
  const mw = await ctx.u32('powerUsage');
  v.powerW = mw === undefined ? undefined : mw / 1000;
  const limit = await ctx.u32('powerLimit');
  v.powerLimitW = limit === undefined ? undefined : limit / 1000;
  v.energyMj = await ctx.u64('energy');
}

async function readClocks(ctx: ReadContext): Promise<void> {
  const v = ctx.values;
  v.graphicsClockMhz = await ctx.u32('clock', 'GRAPHICS', CLOCK_GRAPHICS);
  v.smClockMhz = await ctx.u32('clock', 'SM', CLOCK_SM);
  v.memClockMhz = await ctx.u32('clock', 'MEM', CLOCK_MEM);
  v.maxSmClockMhz = await ctx.u32('maxClock', 'SM', CLOCK_SM);
  v.pstate = await ctx.u32('pstate');
  v.clockEventReasons = await ctx.u64('clockEventReasons');
}

async function readPcie(ctx: ReadContext): Promise<void> {
  const v = ctx.values;
  v.pcieGen = await ctx.u32('pcieGen');
  v.pcieGenMax = await ctx.u32('pcieGenMax');
  v.pcieWidth = await ctx.u32('pcieWidth');
  v.pcieWidthMax = await ctx.u32('pcieWidthMax');
  v.pcieTxKBps = await ctx.u32('pcieThroughput', 'TX', PCIE_TX);
  v.pcieRxKBps = await ctx.u32('pcieThroughput', 'RX', PCIE_RX);
  v.pcieReplayCount = await ctx.u32('pcieReplay');
}

/** Groups NVML has; `npu-health` is Ascend's and reads nothing here. */
export const NVML_GROUPS: Partial<Record<ProbeGroup, (ctx: ReadContext) => void>> = {
  memory: readMemory,
  utilization: readUtilization,
  thermal: readThermal,
  power: readPower,
  clocks: readClocks,
  pcie: readPcie,
  ecc: readEcc,
  retirement: readRetirement,
  nvlink: readNvlink,
  recovery: readRecovery,
  processes: readProcesses,
};

/**
 * Reads one group of `device` (whose handle is set): the one copy of the read logic, run by the read
 * thread and by the backend's in-process fallback alike. `scratch`: see ReadContext.
 */
export async function readGroup(lib: NvmlLibrary, device: NvmlDevice, group: ProbeGroup, scratch?: Scratch): Promise<GroupRead> {
  const reader = NVML_GROUPS[group];
  if (reader === undefined) return { values: {}, errors: [], unsupported: [] };
  const ctx = new ReadContext(lib, device, scratch);
  await reader(ctx);
  return { values: definedOnly(ctx.values), errors: ctx.errors, unsupported: ctx.unsupported };
}

/** Drops the keys a failed call left as undefined, so `values` holds only what was read. */
export function definedOnly<T extends object>(values: T): T {
  for (const key of Object.keys(values) as (keyof T)[]) if (values[key] === undefined) delete values[key];
  return values;
}
