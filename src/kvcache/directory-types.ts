/**
 * The contract between the pool's directory (which agent holds which hot block, kept on each chain's
 * home agent) and the remote read path (the engine's one call that fetches what the node lacks).
 * The directory answers from possibly stale entries: a holder that no longer has a block answers
 * MISSING, which the reader treats as a miss.
 */

export interface DirectoryAnswer {
  /** Node names of the holders named in `holderOf`. */
  readonly holders: readonly string[];
  /** Per key of the chain asked about: index into `holders`, or NO_HOLDER. */
  readonly holderOf: Uint16Array;
}

export const NO_HOLDER = 0xffff;

export interface DirectoryLookup {
  /**
   * Holders of the blocks of one chain (`keys`: 16-byte keys of `namespace`, root first), asked of
   * the chain's home agent (or answered locally when this agent is the home). Rejects after
   * `deadlineMs`; never throws for "nothing known" (all NO_HOLDER).
   */
  lookup(namespace: string, keys: Buffer, deadlineMs: number): Promise<DirectoryAnswer>;
}
