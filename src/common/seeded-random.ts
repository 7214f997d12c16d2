/**
 * mulberry32: a small, fast generator of uniform numbers in [0, 1), the same sequence for the same
 * seed (only its low 32 bits count). Seeded benchmarks, load profiles, fault dice and the mock
 * engine's draws all use this one, so a seed means the same draws everywhere.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
