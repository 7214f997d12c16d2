/**
 * GPU serving profiles for an 8B-class model (Llama-3-8B shapes, BF16) on vLLM-like continuous
 * batching. Derived from datasheet memory sizes and bandwidths plus chosen effective prefill rates;
 * src/mock-engine/README.md gives every number and where it comes from. Replace them with measured
 * profiles when you have hardware: the model only reads the fields of GpuProfile.
 */
import type { GpuProfile } from './types.js';

/** Llama-3-8B KV bytes per token: 32 layers × 8 KV heads × 128 dims × (K, V) × 2 bytes. */
export const KV_BYTES_PER_TOKEN = 32 * 8 * 128 * 2 * 2;
/** 8.03 B parameters × 2 bytes. */
export const WEIGHTS_GIB = 15;
/** vLLM's default --gpu-memory-utilization. */
export const GPU_MEMORY_UTILIZATION = 0.9;
const BLOCK_TOKENS = 16;

interface ProfileInput {
  readonly name: string;
  readonly description: string;
  readonly memoryGiB: number;
  /** Activations, CUDA graphs and allocator slack kept out of the KV cache. */
  readonly reserveGiB: number;
  readonly stepOverheadMs: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsPerSeq: number;
  readonly maxBatchedTokens: number;
  readonly costPerHour: number;
}

/** Batch size at which decode speed is compared across profiles. */
const SPEED_BATCH = 32;

function kvBlocksFor(memoryGiB: number, reserveGiB: number): number {
  const kvBytes = (memoryGiB * GPU_MEMORY_UTILIZATION - WEIGHTS_GIB - reserveGiB) * 2 ** 30;
  return Math.floor(kvBytes / (KV_BYTES_PER_TOKEN * BLOCK_TOKENS));
}

function decodeStepMs(p: Pick<ProfileInput, 'stepOverheadMs' | 'decodeMsPerSeq'>): number {
  return p.stepOverheadMs + SPEED_BATCH * p.decodeMsPerSeq;
}

const INPUTS: readonly ProfileInput[] = [
  // H100 SXM: 80 GB HBM3 at 3.35 TB/s → 15 GiB of weights read in 4.8 ms per step, +1 ms scheduling.
  { name: 'h100', description: 'NVIDIA H100 SXM 80 GB', memoryGiB: 80, reserveGiB: 2, stepOverheadMs: 5.8, prefillMsPerToken: 0.07, decodeMsPerSeq: 0.08, maxBatchedTokens: 8192, costPerHour: 4 },
  // A100 SXM 80 GB: 2.04 TB/s → 7.9 ms weight read; prefill 0.55× the H100; vLLM keeps the
  // A100 on the small token budget (a larger one lowered its throughput).
  { name: 'a100', description: 'NVIDIA A100 SXM 80 GB', memoryGiB: 80, reserveGiB: 2, stepOverheadMs: 8.9, prefillMsPerToken: 0.07 / 0.55, decodeMsPerSeq: 0.13, maxBatchedTokens: 2048, costPerHour: 2 },
  // L20: 48 GB GDDR6 at 864 GB/s → 18.6 ms weight read; prefill 0.4× the H100.
  { name: 'l20', description: 'NVIDIA L20 48 GB', memoryGiB: 48, reserveGiB: 2, stepOverheadMs: 19.6, prefillMsPerToken: 0.07 / 0.4, decodeMsPerSeq: 0.3, maxBatchedTokens: 2048, costPerHour: 1.2 },
  // A10: 24 GB GDDR6 at 600 GB/s → 26.8 ms weight read; prefill 0.2× the H100; little room for KV.
  { name: 'a10', description: 'NVIDIA A10 24 GB', memoryGiB: 24, reserveGiB: 1.5, stepOverheadMs: 27.8, prefillMsPerToken: 0.07 / 0.2, decodeMsPerSeq: 0.42, maxBatchedTokens: 2048, costPerHour: 0.75 },
];

const REFERENCE = INPUTS[0] as ProfileInput;

function build(p: ProfileInput): GpuProfile {
  return Object.freeze({
    name: p.name,
    description: p.description,
    stepOverheadMs: p.stepOverheadMs,
    prefillMsPerToken: p.prefillMsPerToken,
    decodeMsPerSeq: p.decodeMsPerSeq,
    maxBatchedTokens: p.maxBatchedTokens,
    maxRunning: 256,
    kvBlocks: kvBlocksFor(p.memoryGiB, p.reserveGiB),
    blockTokens: BLOCK_TOKENS,
    speed: Object.freeze({
      prefill: round2(REFERENCE.prefillMsPerToken / p.prefillMsPerToken),
      decode: round2(decodeStepMs(REFERENCE) / decodeStepMs(p)),
    }),
    costPerHour: p.costPerHour,
  });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The shipped profiles by name (h100 is the speed reference). */
export const GPU_PROFILES: Readonly<Record<string, GpuProfile>> = Object.freeze(Object.fromEntries(INPUTS.map((p) => [p.name, build(p)])));

/** The profile called `name` (case-insensitive), or undefined. */
export function gpuProfile(name: string): GpuProfile | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(GPU_PROFILES, key) ? GPU_PROFILES[key] : undefined;
}
