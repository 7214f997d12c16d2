/**
 * Scale-up at once, scale-down only after the lower count has been asked for continuously for a
 * stable window (AIBrix #637: scaling down faster than up leaves SLO gaps). While a lower count is
 * pending, the highest count asked during the window is what it goes down to. A cap (GPUs that
 * exist) always applies at once: a plan never holds more GPUs than are there.
 */
export interface GateState {
  /** The count in force. */
  applied: number;
  /** Since when (ms) every count asked has been below `applied`; undefined = none pending. */
  downSince: number | undefined;
  /** The highest count asked since downSince. */
  downTo: number;
}

export const newGate = (applied: number): GateState => ({ applied, downSince: undefined, downTo: applied });

/** Takes a newly asked count at `now`; returns the count in force. */
export function ask(g: GateState, target: number, now: number, windowMs: number, cap?: number): number {
  if (target >= g.applied) {
    g.applied = target;
    g.downSince = undefined;
  } else if (g.downSince === undefined) {
    g.downSince = now;
    g.downTo = target;
  } else if (target > g.downTo) {
    g.downTo = target;
  }
  return settle(g, now, windowMs, cap);
}

/** Applies a pending scale-down whose window has passed, and the cap; returns the count in force. */
export function settle(g: GateState, now: number, windowMs: number, cap?: number): number {
  if (g.downSince !== undefined && now - g.downSince >= windowMs) {
    g.applied = g.downTo;
    g.downSince = undefined;
  }
  if (cap !== undefined && g.applied > cap) {
    g.applied = cap;
    if (g.downSince !== undefined && g.downTo >= cap) g.downSince = undefined;
  }
  return g.applied;
}

/** When the pending scale-down takes effect (ms), if one is pending. */
export const scaleDownAt = (g: GateState, windowMs: number): number | undefined => (g.downSince === undefined ? undefined : g.downSince + windowMs);
