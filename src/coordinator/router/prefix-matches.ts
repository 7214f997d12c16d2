/**
 * The answer of PrefixIndex.matches(): engine uid → leading blocks held, as a ReadonlyMap that
 * costs no Map building. The index records each reported engine's length in per-slot arrays tagged
 * with the call's epoch; while no later matches() or removeEngine() has run, get() is one slot
 * lookup. After that the object still answers from its own snapshot (uids and lengths in report
 * order), by a linear search, so holding it longer is correct, only slower.
 */

/** What the answer reads from the index that produced it. */
export interface MatchSource {
  /** Epoch of the latest matches() / removeEngine(). */
  readonly epoch: number;
  /** The engine's slot, or -1. */
  slot(uid: string): number;
  /** Matched blocks of a slot in `epoch`, or 0 when the slot was not reported. */
  matchedInEpoch(slot: number, epoch: number): number;
}

export class PrefixMatches implements ReadonlyMap<string, number> {
  constructor(
    private readonly source: MatchSource,
    private readonly epoch: number,
    private readonly uids: readonly string[],
    private readonly lens: readonly number[],
  ) {}

  get size(): number {
    return this.uids.length;
  }

  get(uid: string): number | undefined {
    if (this.uids.length === 0) return undefined;
    if (this.source.epoch === this.epoch) {
      const slot = this.source.slot(uid);
      if (slot < 0) return undefined;
      const len = this.source.matchedInEpoch(slot, this.epoch);
      return len > 0 ? len : undefined;
    }
    const i = this.uids.indexOf(uid);
    return i < 0 ? undefined : this.lens[i];
  }

  has(uid: string): boolean {
    return this.get(uid) !== undefined;
  }

  forEach(fn: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.uids.length; i++) fn.call(thisArg, this.lens[i] as number, this.uids[i] as string, this);
  }

  *entries(): MapIterator<[string, number]> {
    for (let i = 0; i < this.uids.length; i++) yield [this.uids[i] as string, this.lens[i] as number];
  }

  *keys(): MapIterator<string> {
    yield* this.uids;
  }

  *values(): MapIterator<number> {
    yield* this.lens;
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}
