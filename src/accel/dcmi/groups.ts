/**
 * DCMI probe groups. Ascend has no NVLink, retirement, recovery action or per-process NVML data:
 * those groups read nothing. Units are converted here: MB → bytes, 0.1 W → W, 0.01 V → V.
 */
import type { ProbeGroup } from '../types.js';
import { type DcmiReadContext, u64 } from './read-context.js';

const MIB = 1024 * 1024;
const UTIL_AICORE = 2;
const FREQ_AICORE_CURRENT = 7;
const ECC_HBM = 2;
/** dcmi_get_device_errorcode_v2 list size (the API's documented maximum). */
const MAX_FAULT_CODES = 128;

/** dcmi_hbm_info: u64 memory_size (MB) @0, u32 freq @8, u64 memory_usage (MB) @16, i32 temp @24, u32 bw util @28. */
async function hbm(ctx: DcmiReadContext): Promise<DataView | undefined> {
  const info = new Uint8Array(32);
  return (await ctx.call('hbm', undefined, info)) ? new DataView(info.buffer) : undefined;
}

async function readMemory(ctx: DcmiReadContext): Promise<void> {
  const view = await hbm(ctx);
  if (view === undefined) return;
  const v = ctx.values;
  const total = u64(view, 0) * MIB;
  const used = u64(view, 16) * MIB;
  v.memoryTotalBytes = v.hbmTotalBytes = total;
  v.memoryUsedBytes = v.hbmUsedBytes = used;
  v.memoryFreeBytes = Math.max(0, total - used);
}

async function readUtilization(ctx: DcmiReadContext): Promise<void> {
  const aicore = await ctx.scalar('utilization', 'AICORE', [UTIL_AICORE]);
  // AI Core utilization is what "GPU utilization" means on an NPU (npu-exporter's npu_chip_info_utilization).
  ctx.values.aicoreUtilPercent = ctx.values.gpuUtilPercent = aicore;
}

async function readThermal(ctx: DcmiReadContext): Promise<void> {
  const [temp, view] = await Promise.all([ctx.scalar('temperature', undefined, [], true), hbm(ctx)]);
  ctx.values.gpuTempC = temp;
  ctx.values.hbmTempC = view?.getInt32(24, true);
}

async function readPower(ctx: DcmiReadContext): Promise<void> {
  const [deciW, centiV] = await Promise.all([ctx.scalar('power', undefined, [], true), ctx.scalar('voltage', undefined, [])]);
  ctx.values.powerW = deciW === undefined ? undefined : deciW / 10;
  ctx.values.voltageV = centiV === undefined ? undefined : centiV / 100;
}

async function readClocks(ctx: DcmiReadContext): Promise<void> {
  ctx.values.aicoreFreqMhz = await ctx.scalar('frequency', 'AICORE_CURRENT', [FREQ_AICORE_CURRENT]);
}

/** dcmi_ecc_info: i32 enable_flag, u32 single_bit_error_cnt @4, u32 double_bit_error_cnt @8, … (28 bytes). */
async function readEcc(ctx: DcmiReadContext): Promise<void> {
  const info = new Uint32Array(7);
  if (!(await ctx.call('ecc', 'HBM', ECC_HBM, info))) return;
  ctx.values.hbmEccSbe = info[1];
  ctx.values.hbmEccDbe = info[2];
}

async function readHealth(ctx: DcmiReadContext): Promise<void> {
  const count = new Int32Array(1);
  // Fault codes are unsigned 32-bit (0x80E24E00 > INT_MAX): read them through a Uint32Array.
  const codes = new Uint32Array(MAX_FAULT_CODES);
  const [health, gotCodes, network] = await Promise.all([
    ctx.scalar('health', undefined, []),
    ctx.call('errorCodes', undefined, count, codes, MAX_FAULT_CODES),
    ctx.scalar('networkHealth', undefined, [], true),
  ]);
  ctx.values.npuHealth = health;
  if (gotCodes) ctx.values.npuFaultCodes = Array.from(codes.subarray(0, Math.min(Math.max(count[0] ?? 0, 0), MAX_FAULT_CODES)));
  ctx.values.npuNetworkHealth = network;
}

export const DCMI_GROUPS: Partial<Record<ProbeGroup, (ctx: DcmiReadContext) => Promise<void>>> = {
  memory: readMemory,
  utilization: readUtilization,
  thermal: readThermal,
  power: readPower,
  clocks: readClocks,
  ecc: readEcc,
  'npu-health': readHealth,
};
