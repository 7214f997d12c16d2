/** The brixlet version, read once from package.json (two levels above both src/common and dist/common). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function brixletVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
