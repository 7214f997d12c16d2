/** The human form of a diagnose report: an aligned table and a summary line, coloured only on a TTY. */
import type { DiagnoseReport, DiagnoseResult, DiagnoseStatus } from '../../accel/diagnose/diagnose-report.js';
import type { Style } from '../style.js';

const HEADERS = ['DEVICE', 'CHECK', 'STATUS', 'ACTION', 'OBSERVED', 'EXPECTED', 'MESSAGE'] as const;

export function deviceLabel(r: Pick<DiagnoseResult, 'device' | 'vendor'>): string {
  if (r.device === null) return r.vendor === null ? 'node' : `node/${r.vendor}`;
  return `${r.vendor === 'ascend' ? 'npu' : 'gpu'}${r.device}`;
}

function paintStatus(st: Style, status: DiagnoseStatus, text: string): string {
  switch (status) {
    case 'pass':
      return st.green(text);
    case 'warn':
      return st.bold(text);
    case 'fail':
      return st.bold(st.red(text));
    case 'skip':
      return st.dim(text);
  }
}

export interface TableOptions {
  /** Leave out passing rows. */
  readonly problemsOnly?: boolean;
}

export function renderDiagnoseTable(report: DiagnoseReport, st: Style, opts: TableOptions = {}): string {
  const shown = opts.problemsOnly === true ? report.results.filter((r) => r.status !== 'pass') : report.results;
  const rows = shown.map((r) => [deviceLabel(r), r.check, r.status.toUpperCase(), r.action, r.observed, r.expected, r.message] as const);
  // The message is last and not padded: it is the one column allowed to run long.
  const widths = HEADERS.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const pad = (cells: readonly string[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c));
  const lines = [st.bold(pad(HEADERS).join('  ').trimEnd())];
  shown.forEach((r, n) => {
    const cells = pad(rows[n]!);
    cells[2] = paintStatus(st, r.status, cells[2]!);
    if (r.action !== 'none') cells[3] = st.cyan(cells[3]!);
    if (r.status === 'pass' || r.status === 'skip') cells[6] = st.dim(cells[6]!);
    lines.push(cells.join('  ').trimEnd());
  });
  return `${lines.join('\n')}\n${summaryLine(report, st)}\n`;
}

export function summaryLine(report: DiagnoseReport, st: Style): string {
  const { pass, warn, fail, skip } = report.summary;
  const devices = new Set(report.results.filter((r) => r.device !== null).map(deviceLabel)).size;
  const verdict = fail > 0 ? st.bold(st.red('FAIL')) : warn > 0 ? st.bold('PASS with warnings') : st.green('PASS');
  const window = report.windowMs === undefined ? '' : `, window ${(report.windowMs / 1000).toFixed(1)} s`;
  return `${verdict}: ${pass} pass, ${warn} warn, ${fail} fail, ${skip} skip — ${devices} device(s) on ${report.node}, level ${report.level}${window}`;
}
