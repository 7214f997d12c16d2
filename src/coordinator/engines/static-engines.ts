/**
 * `--gateway.engines` (and `brixlet up`'s engines): a comma-separated list of `URL[#gpu-type]` turned
 * into engine specs. Every bad entry is reported in one BRX_ERR_ENGINE_CONFIG, so a long list is
 * fixed in one go. The uid of a static engine is its normalised URL, so the same engine listed
 * twice (`http://h:8000` and `http://h:8000/v1/`) is caught as a duplicate.
 */
import { BrixletError } from '../../common/errors.js';
import type { EngineSpec } from './types.js';

const GPU_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One entry parsed, or why it is not an engine. */
type Parsed = { readonly spec: EngineSpec } | { readonly problem: string };

/** Parses the list; an empty string is no engines. Throws BRX_ERR_ENGINE_CONFIG naming every bad entry. */
export function parseEngineList(text: string, source: EngineSpec['source'] = 'static'): EngineSpec[] {
  const entries = text.split(',').map((e) => e.trim());
  if (entries.length === 1 && entries[0] === '') return [];
  const specs: EngineSpec[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const parsed = parseEntry(entry, source);
    if ('problem' in parsed) {
      problems.push(`entry ${i + 1} ${JSON.stringify(entry)}: ${parsed.problem}`);
      return;
    }
    const first = seen.get(parsed.spec.uid);
    if (first !== undefined) {
      problems.push(`entry ${i + 1} ${JSON.stringify(entry)}: the same engine as entry ${first + 1}`);
      return;
    }
    seen.set(parsed.spec.uid, i);
    specs.push(parsed.spec);
  });
  if (problems.length > 0) {
    throw new BrixletError('BRX_ERR_ENGINE_CONFIG', { reason: `--gateway.engines: ${problems.join('; ')}` }, { details: problems });
  }
  return specs;
}

function parseEntry(entry: string, source: EngineSpec['source']): Parsed {
  if (entry === '') return { problem: 'empty entry' };
  const hash = entry.indexOf('#');
  const urlText = hash < 0 ? entry : entry.slice(0, hash);
  const gpuType = hash < 0 ? undefined : entry.slice(hash + 1);
  if (gpuType !== undefined && !GPU_TYPE.test(gpuType)) return { problem: `GPU type ${JSON.stringify(gpuType)} is not a name (letters, digits, . _ -)` };
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return { problem: 'not a URL (expected http://host:port)' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `scheme ${url.protocol} is not http or https` };
  if (url.username !== '' || url.password !== '') return { problem: 'credentials in the URL are not supported' };
  if (url.search !== '') return { problem: 'a query string is not allowed' };
  // Engines are named by their base URL; `/v1` is what the gateway appends.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  const base = `${url.protocol}//${url.host}${path}`;
  return {
    spec: {
      uid: base,
      name: url.host + path,
      url: base,
      source,
      ...(gpuType !== undefined && { gpuType }),
    },
  };
}
