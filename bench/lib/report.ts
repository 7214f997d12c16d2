/**
 * Shared benchmark harness (../shared/design/BENCHMARKS.md): repeated runs, median/min/max, pairwise
 * ratios against peers measured in the same run, targets computed from the measurements, a table on
 * stdout and bench/results/<name>[.quick].json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface Row {
  readonly case: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly brixlet: Stat;
  readonly peers: Record<string, Stat>;
  /** Median of the pairwise ratios brixlet run i / peer run i. */
  readonly ratio: Record<string, number>;
}

export interface Target {
  readonly name: string;
  readonly threshold: number;
  readonly value: number;
  /** `max`: value must be ≤ threshold; `min`: ≥ threshold. */
  readonly kind: 'max' | 'min';
  readonly met: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export function stat(xs: readonly number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

export function row(name: string, unit: string, higherIsBetter: boolean, brixlet: readonly number[], peers: Record<string, readonly number[]> = {}): Row {
  const ratio: Record<string, number> = {};
  for (const [peer, runs] of Object.entries(peers)) {
    ratio[peer] = median(brixlet.map((b, i) => b / (runs[i] ?? runs[runs.length - 1] ?? NaN)));
  }
  return { case: name, unit, higherIsBetter, brixlet: stat(brixlet), peers: Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, stat(v)])), ratio };
}

export function target(name: string, kind: 'max' | 'min', threshold: number, value: number): Target {
  return { name, kind, threshold, value, met: kind === 'max' ? value <= threshold : value >= threshold };
}

export interface BenchArgs {
  readonly quick: boolean;
  /** Counted runs: ≥ 5 full, 3 quick (BENCHMARKS.md). */
  readonly runs: number;
}

export function benchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const quick = argv.includes('--quick');
  return { quick, runs: quick ? 3 : 5 };
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));

export function writeReport(bench: string, args: BenchArgs, rows: readonly Row[], targets: readonly Target[], dir = 'bench/results'): string {
  const report = {
    bench,
    quick: args.quick,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    rows,
    targets,
  };
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/${bench}${args.quick ? '.quick' : ''}.json`;
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);

  const lines = [`${bench}${args.quick ? ' (quick)' : ''} — ${report.machine.model}, ${report.machine.cpus} cpus, node ${report.machine.node}`];
  for (const r of rows) {
    const peers = Object.entries(r.peers)
      .map(([p, s]) => `${p} ${fmt(s.median)} (×${fmt(r.ratio[p] ?? NaN)})`)
      .join(', ');
    lines.push(`  ${r.case.padEnd(44)} ${fmt(r.brixlet.median).padStart(9)} ${r.unit.padEnd(6)} [${fmt(r.brixlet.min)}–${fmt(r.brixlet.max)}]${peers ? `  vs ${peers}` : ''}`);
  }
  for (const t of targets) lines.push(`  target ${t.met ? 'met   ' : 'MISSED'} ${t.name}: ${fmt(t.value)} (${t.kind === 'max' ? '≤' : '≥'} ${t.threshold})`);
  lines.push(`  → ${path}`);
  console.log(lines.join('\n'));
  return path;
}
