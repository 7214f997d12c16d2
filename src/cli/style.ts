/** Terminal styling that turns itself off when the stream is not a TTY or NO_COLOR is set. */
export interface Style {
  readonly color: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

export function createStyle(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): Style {
  const color = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const wrap = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { color, bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), cyan: wrap('36') };
}
