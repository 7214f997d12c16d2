/**
 * Readiness: named checks that must all pass, and a draining flag set at shutdown so load
 * balancers stop sending work before listeners close. /healthz is liveness only and never reads it.
 */
export interface ReadinessCheck {
  readonly name: string;
  /** Returns undefined when ready, or why not. Must be cheap: it runs on every probe. */
  check(): string | undefined;
}

export interface ReadinessState {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private draining = false;

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  setDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  state(): ReadinessState {
    const reasons: string[] = this.draining ? ['shutting down'] : [];
    for (const c of this.checks) {
      const why = c.check();
      if (why !== undefined) reasons.push(`${c.name}: ${why}`);
    }
    return { ready: reasons.length === 0, reasons };
  }
}
