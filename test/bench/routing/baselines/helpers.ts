// Engine views and requests for the baseline tests.
import { GPU_PROFILES } from '../../../../src/mock-engine/profiles.js';
import type { GpuProfile } from '../../../../src/mock-engine/types.js';
import type { EngineState } from '../../../../src/coordinator/router/types.js';
import { simEngine } from '../../../../bench/routing/simulator.js';
import type { TraceRequest } from '../../../../bench/routing/traces.js';

export function engines(n: number, inFlight: readonly number[] = []): EngineState[] {
  return Array.from({ length: n }, (_, i) => {
    const e = simEngine(GPU_PROFILES.h100 as GpuProfile, i);
    e.load.inFlight = inFlight[i] ?? 0;
    return e;
  });
}

export function req(prompt: string, id = 0): TraceRequest {
  return { id, prompt, outputTokens: 10, maxTokens: 10 };
}

/** A random generator that returns the given values in turn (then 0). */
export function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[i++] ?? 0;
}
