/**
 * A replayable request stream for the hit-ratio simulator: every request is a chain of integer block
 * ids (block i's parent is block i − 1), all chains packed into one Int32Array.
 */

export interface Workload {
  readonly name: string;
  /** All requests' chains back to back. */
  readonly blocks: Int32Array;
  /** Request r is blocks[starts[r] … starts[r + 1]); length = requests + 1. */
  readonly starts: Int32Array;
  /** 1 where a request is a one-off scan (synthetic mixes only). */
  readonly scan?: Uint8Array;
}

export function requestCount(w: Workload): number {
  return w.starts.length - 1;
}

/** Distinct block ids in the stream (optionally only those of non-scan requests). */
export function uniqueBlocks(w: Workload, nonScanOnly = false): number {
  const seen = new Set<number>();
  for (let r = 0; r < requestCount(w); r++) {
    if (nonScanOnly && w.scan?.[r] === 1) continue;
    for (let i = w.starts[r] as number; i < (w.starts[r + 1] as number); i++) seen.add(w.blocks[i] as number);
  }
  return seen.size;
}

/** Packs chains into a Workload. */
export function packWorkload(name: string, chains: readonly ArrayLike<number>[], scan?: Uint8Array): Workload {
  const starts = new Int32Array(chains.length + 1);
  let total = 0;
  for (let r = 0; r < chains.length; r++) {
    starts[r] = total;
    total += (chains[r] as ArrayLike<number>).length;
  }
  starts[chains.length] = total;
  const blocks = new Int32Array(total);
  for (let r = 0; r < chains.length; r++) blocks.set(chains[r] as ArrayLike<number>, starts[r]);
  return scan === undefined ? { name, blocks, starts } : { name, blocks, starts, scan };
}
