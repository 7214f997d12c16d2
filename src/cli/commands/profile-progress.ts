/**
 * `brixlet profile`'s progress on stderr: on a terminal one line redrawn in place (bar, point,
 * last result, time left); otherwise one plain line per measured point, for logs and CI.
 */
import type { ProfileProgress } from '../../coordinator/optimizer/profiler.js';

const BAR = 24;

export interface ProgressWriter {
  update(p: ProfileProgress): void;
  /** Ends the redrawn line (a no-op for plain lines). */
  end(): void;
}

function seconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** "tput 7.90/s e2e 1.23s ttft 0.10s within SLO" for a measured point. */
export function pointText(p: ProfileProgress): string {
  const r = p.row;
  if (r === undefined) return 'skipped (a lower rate missed the SLO or saturated)';
  const lat = [`e2e ${r.e2e.mean.toFixed(2)}s`, ...(r.ttft === undefined ? [] : [`ttft ${r.ttft.mean.toFixed(3)}s`]), ...(r.tpot === undefined ? [] : [`tpot ${(r.tpot.mean * 1000).toFixed(1)}ms`])].join(' ');
  const verdict = p.met === true ? 'within SLO' : 'misses SLO';
  const failed = r.failed > 0 ? `, ${r.failed} failed${p.errors !== undefined && p.errors.length > 0 ? ` (${p.errors[0]})` : ''}` : '';
  return `tput ${r.tput.toFixed(2)}/s (offered ${r.offered.toFixed(2)}) ${lat} ${verdict}${p.saturated === true ? ', saturated' : ''}${failed}`;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, now: () => number = () => performance.now()): ProgressWriter {
  const tty = stream.isTTY === true;
  const start = now();
  let drawn = false;
  return {
    update(p) {
      const where = `in ${p.input} out ${p.output} @ ${p.rate} req/s`;
      if (!tty) {
        if (p.row !== undefined) stream.write(`point ${p.done}/${p.total} ${where}: ${pointText(p)}\n`);
        return;
      }
      const elapsed = (now() - start) / 1000;
      const left = p.done === 0 ? NaN : (elapsed / p.done) * (p.total - p.done);
      const fill = Math.round((BAR * p.done) / Math.max(1, p.total));
      const line = `[${'#'.repeat(fill)}${'.'.repeat(BAR - fill)}] ${p.done}/${p.total} ${where}: ${pointText(p)}  left ≤${seconds(left)}`;
      const width = (stream as { columns?: number }).columns ?? 120;
      stream.write(`\r\x1b[K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
      drawn = true;
    },
    end() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
