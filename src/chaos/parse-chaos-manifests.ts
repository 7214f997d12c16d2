/**
 * Reads Chaos Mesh objects from a manifest: YAML with one or many `---` documents, JSON (one
 * object, an array, or a `kind: List`). Every object is validated; all problems are reported at
 * once, so a file with two bad documents needs one round of fixes, not two.
 */
import { parseAllDocuments } from 'yaml';
import { BrixletError } from '../common/errors.js';
import type { AnyChaos } from './types.js';
import { validateChaos } from './validate-chaos.js';

export function parseChaosManifests(text: string, source: string): AnyChaos[] {
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const values: unknown[] = [];
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    const error = doc.errors[0];
    if (error) throw new BrixletError('BRX_ERR_CHAOS_INVALID', { kind: 'manifest', name: source, reason: `document ${i + 1} is not valid YAML or JSON: ${error.message}` });
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else if ((value as { kind?: unknown }).kind === 'List' && Array.isArray((value as { items?: unknown }).items)) values.push(...(value as { items: unknown[] }).items);
    else values.push(value);
  }
  if (values.length === 0) throw new BrixletError('BRX_ERR_CHAOS_INVALID', { kind: 'manifest', name: source, reason: 'it holds no objects' });
  const objects: AnyChaos[] = [];
  const errors: BrixletError[] = [];
  for (const [i, value] of values.entries()) {
    try {
      objects.push(validateChaos(value, { source: values.length > 1 ? `${source} object ${i + 1}` : source }));
    } catch (err) {
      if (!(err instanceof BrixletError)) throw err;
      errors.push(err);
    }
  }
  const [first] = errors;
  if (first === undefined) return objects;
  if (errors.length === 1) throw first;
  throw new BrixletError(
    'BRX_ERR_CHAOS_INVALID',
    { kind: 'manifest', name: source, reason: `${errors.length} of ${values.length} objects are invalid: ${errors.map((e) => e.message).join(' | ')}` },
    { details: errors.flatMap((e) => e.details) },
  );
}
