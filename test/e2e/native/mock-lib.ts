// Shared by the native mock tests: where the built libraries are, and scenario fixtures on disk.
// Struct out-params are passed as Buffers so the tests check the C layout byte by byte.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/repo.js';

export const nativeBuild = join(repoRoot, 'native/build');
export const scenarioDir = join(repoRoot, 'mocks/scenarios');

/** The library's path, or undefined with the reason to show in the skipped suite's title. */
export function mockLibrary(file: string): { path: string; missing: string } {
  const path = join(nativeBuild, file);
  return { path, missing: existsSync(path) ? '' : ` — SKIPPED: ${path} is missing (run \`make -C native\`)` };
}

export function shippedScenario(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(scenarioDir, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

let dir: string | undefined;
/** Writes a scenario (object or raw text) to a temp file and returns its path. */
export function writeScenario(name: string, content: unknown): string {
  dir ??= mkdtempSync(join(tmpdir(), 'brixlet-native-'));
  const path = join(dir, `${name}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A buffer pre-filled with a sentinel so tests can tell written bytes from untouched ones. */
export function sentinel(size: number, byte = 0xa5): Buffer {
  return Buffer.alloc(size, byte);
}

/** The NUL-terminated C string at the start of buf; throws when there is no NUL. */
export function cString(buf: Buffer, offset = 0, max = buf.length - offset): string {
  const end = buf.indexOf(0, offset);
  if (end < 0 || end - offset >= max) throw new Error('no NUL terminator');
  return buf.toString('utf8', offset, end);
}
