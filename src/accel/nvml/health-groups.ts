/**
 * The health probe groups of a GPU: ecc, retirement (retired pages and remapped rows), nvlink,
 * recovery action and running processes.
 */
import type { NvLinkSample, ProcessSample } from '../types.js';
import { PROCESS_INFO_STRIDE } from './library.js';
import type { ReadContext } from './read-context.js';
import { NVML_ERROR_INSUFFICIENT_SIZE, NVML_ERROR_INVALID_ARGUMENT, NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS } from './returns.js';

const CORRECTED = 0;
const UNCORRECTED = 1;
const VOLATILE = 0;
const AGGREGATE = 1;
const LOCATION_DRAM = 2;
const LOCATION_SRAM = 7;
const CAUSE_MULTIPLE_SBE = 0;
const CAUSE_DBE = 1;
const FIELD_NVLINK_LINK_COUNT = 91;
const FIELD_RECOVERY_ACTION = 230;
const NVLINK_MAX_LINKS = 18;
const NVLINK_COUNTERS = [
  ['DL_REPLAY', 0, 'replayErrors'],
  ['DL_RECOVERY', 1, 'recoveryErrors'],
  ['CRC_FLIT', 2, 'crcFlitErrors'],
  ['CRC_DATA', 3, 'crcDataErrors'],
] as const;

export async function readEcc(ctx: ReadContext): Promise<void> {
  const s = ctx.scratch;
  const v = ctx.values;
  const [s0, s1] = s.slots;
  if (await ctx.call('eccMode', undefined, [s0, s1]) === NVML_SUCCESS) v.eccEnabled = s.u32(0) === 1;
  const total = async (type: number, counter: number, qualifier: string): Promise<number | undefined> => {
    const rc = await ctx.call('totalEcc', qualifier, [type, counter, s0]);
    return rc === NVML_SUCCESS ? s.u64(0) : undefined;
  };
  v.eccSbeVolatile = await total(CORRECTED, VOLATILE, 'CORRECTED,VOLATILE');
  v.eccDbeVolatile = await total(UNCORRECTED, VOLATILE, 'UNCORRECTED,VOLATILE');
  v.eccSbeAggregate = await total(CORRECTED, AGGREGATE, 'CORRECTED,AGGREGATE');
  v.eccDbeAggregate = await total(UNCORRECTED, AGGREGATE, 'UNCORRECTED,AGGREGATE');
  const counter = async (type: number, location: number, qualifier: string): Promise<number | undefined> => {
    const rc = await ctx.call('memoryErrorCounter', qualifier, [type, VOLATILE, location, s0]);
    return rc === NVML_SUCCESS ? s.u64(0) : undefined;
  };
  v.eccSramUncorrectedVolatile = await counter(UNCORRECTED, LOCATION_SRAM, 'UNCORRECTED,VOLATILE,SRAM');
  v.eccDramUncorrectedVolatile = await counter(UNCORRECTED, LOCATION_DRAM, 'UNCORRECTED,VOLATILE,DRAM');
  v.eccDramCorrectedVolatile = await counter(CORRECTED, LOCATION_DRAM, 'CORRECTED,VOLATILE,DRAM');
}

export async function readRetirement(ctx: ReadContext): Promise<void> {
  const s = ctx.scratch;
  const v = ctx.values;
  const [s0, s1, s2, s3] = s.slots;
  // Count probe: pageCount 0 and no address buffer → SUCCESS (none) or INSUFFICIENT_SIZE with the count.
  const pages = async (cause: number, qualifier: string): Promise<number | undefined> => {
    s.setU32(0, 0, 0);
    const rc = await ctx.call('retiredPages', qualifier, [cause, s0, null], [NVML_ERROR_INSUFFICIENT_SIZE]);
    return rc === NVML_SUCCESS || rc === NVML_ERROR_INSUFFICIENT_SIZE ? s.u32(0) : undefined;
  };
  v.retiredPagesSbe = await pages(CAUSE_MULTIPLE_SBE, 'MULTIPLE_SBE');
  v.retiredPagesDbe = await pages(CAUSE_DBE, 'DBE');
  const pending = await ctx.u32('retiredPending');
  v.retiredPagesPending = pending === undefined ? undefined : pending === 1;
  if (await ctx.call('remappedRows', undefined, [s0, s1, s2, s3]) === NVML_SUCCESS) {
    v.remappedRowsCorrectable = s.u32(0);
    v.remappedRowsUncorrectable = s.u32(1);
    v.remapPending = s.u32(2) !== 0;
    v.remapFailure = s.u32(3) !== 0;
  }
}

/** Link count: field 91 where the driver has it, else probe links until the driver says there are no more. */
async function linkCount(ctx: ReadContext): Promise<number | undefined> {
  if (ctx.device.linkCount !== undefined) return ctx.device.linkCount;
  const fromField = await ctx.field(FIELD_NVLINK_LINK_COUNT);
  if (fromField !== undefined) return (ctx.device.linkCount = Math.min(fromField, NVLINK_MAX_LINKS));
  const s0 = ctx.scratch.slots[0];
  const stop = [NVML_ERROR_INVALID_ARGUMENT, NVML_ERROR_NOT_SUPPORTED];
  let link = 0;
  for (; link < NVLINK_MAX_LINKS; link++) {
    const rc = await ctx.call('nvlinkState', undefined, [link, s0], stop);
    if (rc === NVML_SUCCESS) continue;
    if (!stop.includes(rc)) return undefined; // a real failure: try again next sample
    // NOT_SUPPORTED on link 0 is a GPU without NVLink support: replay it so it is remembered.
    if (link === 0 && rc === NVML_ERROR_NOT_SUPPORTED) return void ctx.replay('nvlinkState', undefined, rc);
    break;
  }
  return (ctx.device.linkCount = link);
}

export async function readNvlink(ctx: ReadContext): Promise<void> {
  const count = await linkCount(ctx);
  if (count === undefined) return;
  const s = ctx.scratch;
  const s0 = s.slots[0];
  const links: NvLinkSample[] = [];
  for (let link = 0; link < count; link++) {
    if (await ctx.call('nvlinkState', undefined, [link, s0]) !== NVML_SUCCESS) continue;
    const sample: { -readonly [K in keyof NvLinkSample]: NvLinkSample[K] } = { link, active: s.u32(0) === 1 };
    for (const [qualifier, counter, key] of NVLINK_COUNTERS) {
      if (await ctx.call('nvlinkErrorCounter', qualifier, [link, counter, s0]) === NVML_SUCCESS) sample[key] = s.u64(0);
    }
    links.push(sample);
  }
  if (count === 0 || links.length > 0) ctx.values.nvlinks = links;
}

export async function readRecovery(ctx: ReadContext): Promise<void> {
  ctx.values.recoveryAction = await ctx.field(FIELD_RECOVERY_ACTION);
}

/** Processes come and go between the size probe and the read: retry a few times with headroom. */
export async function readProcesses(ctx: ReadContext): Promise<void> {
  const s = ctx.scratch;
  const s0 = s.slots[0];
  const stride = PROCESS_INFO_STRIDE[ctx.symbol('processes') ?? ''] ?? 32;
  s.setU32(0, 0, 0);
  let rc = await ctx.call('processes', undefined, [s0, null], [NVML_ERROR_INSUFFICIENT_SIZE]);
  for (let attempt = 0; rc === NVML_ERROR_INSUFFICIENT_SIZE && attempt < 3; attempt++) {
    const capacity = s.u32(0) + 8;
    const infos = new Uint8Array(capacity * stride);
    s.setU32(0, 0, capacity);
    rc = await ctx.call('processes', undefined, [s0, infos], [NVML_ERROR_INSUFFICIENT_SIZE]);
    if (rc === NVML_SUCCESS) {
      ctx.values.processes = parseProcesses(infos, s.u32(0), stride);
      return;
    }
  }
  if (rc === NVML_SUCCESS) ctx.values.processes = [];
}

function parseProcesses(infos: Uint8Array, count: number, stride: number): ProcessSample[] {
  const view = new DataView(infos.buffer, infos.byteOffset, infos.byteLength);
  const out: ProcessSample[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * stride;
    const lo = view.getUint32(at + 8, true);
    const hi = view.getUint32(at + 12, true);
    // NVML_VALUE_NOT_AVAILABLE (all ones) when the driver cannot attribute memory (e.g. under MIG/WSL).
    const used = lo === 0xffffffff && hi === 0xffffffff ? 0 : hi * 0x1_0000_0000 + lo;
    out.push({ pid: view.getUint32(at, true), usedMemoryBytes: used });
  }
  return out;
}
