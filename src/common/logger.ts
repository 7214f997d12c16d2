/**
 * pino logger: JSON lines on stderr (stdout is kept for command output such as `--json`), or a
 * compact human format on a terminal. Each component takes a child with `component` bound.
 */
import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, type LevelWithSilent, pino, stdTimeFunctions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  readonly format: 'auto' | 'json' | 'pretty';
  /** Defaults to process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

/** Renders one pino JSON line as `HH:MM:SS INFO  [component] message key=value …`. Pure. */
export function formatPrettyLine(line: string, colors: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 19) : '';
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const tag = colors ? `\x1b[${LEVEL_COLORS[level] ?? '0'}m${name}\x1b[0m` : name;
  const component = typeof rec.component === 'string' ? `[${rec.component}] ` : '';
  const extras = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${tag} ${component}${String(rec.msg ?? '')}${extras.length ? ` ${extras.join(' ')}` : ''}\n`;
}

function prettyStream(out: NodeJS.WritableStream, colors: boolean): DestinationStream {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        out.write(formatPrettyLine(pending.slice(0, nl), colors));
        pending = pending.slice(nl + 1);
      }
      done();
    },
  });
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.stream ?? process.stderr;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const pretty = options.format === 'pretty' || (options.format === 'auto' && tty);
  const dest: DestinationStream = pretty
    ? prettyStream(out, tty && process.env.NO_COLOR === undefined)
    : options.stream ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.epochTime,
      serializers: { err: pino.stdSerializers.err },
    },
    dest,
  );
}
