/**
 * GPU type → relative speed for the router's heterogeneity awareness (1 = H100). The numbers are
 * the mock engine's GPU profiles (src/mock-engine/profiles.ts) so the simulator, the mock fleet and
 * the gateway agree; the coordinator may not import src/mock-engine (ARCHITECTURE.md §2), so they are repeated here and a test keeps them equal.
 * Unknown types count as the reference, with their name kept for GET /v1/engines and logs.
 */
import type { GpuSpeed } from '../router/types.js';

/** Relative prefill and decode speed per known GPU type (lower-case, no vendor prefix). */
export const GPU_SPEEDS: Readonly<Record<string, { readonly prefill: number; readonly decode: number }>> = Object.freeze({
  h100: { prefill: 1, decode: 1 },
  a100: { prefill: 0.55, decode: 0.64 },
  l20: { prefill: 0.4, decode: 0.29 },
  a10: { prefill: 0.2, decode: 0.2 },
});

export const REFERENCE_GPU = 'h100';

const cache = new Map<string, GpuSpeed>();

/**
 * `H100-80GB-HBM3`, `nvidia-a100-sxm4-80gb` and `A10` name known types (a type followed by `-`, `_`
 * or the end); `a100` never matches `a10`. Empty/undefined → the reference type.
 */
export function gpuSpeed(gpuType?: string): GpuSpeed {
  const key = (gpuType ?? '').trim();
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const speed = Object.freeze(resolve(key));
  if (cache.size < 1024) cache.set(key, speed);
  return speed;
}

function resolve(raw: string): GpuSpeed {
  if (raw === '') return { gpuType: REFERENCE_GPU, ...GPU_SPEEDS[REFERENCE_GPU]! };
  const name = raw.toLowerCase().replace(/^(nvidia[-_ ]?)?(tesla[-_ ]?)?/, '');
  for (const [known, speed] of Object.entries(GPU_SPEEDS)) {
    if (name === known || (name.startsWith(known) && /[-_ ]/.test(name[known.length] ?? ''))) return { gpuType: known, ...speed };
  }
  return { gpuType: raw, prefill: 1, decode: 1 };
}
