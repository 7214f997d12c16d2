/**
 * The RFC 7386 merge patch that turns `from` into `to`: changed values are set, keys missing from
 * `to` become null (deleted), lists are replaced whole (merge patch cannot edit them in place).
 * Sending the difference rather than `to` itself is what makes re-applying an edited file drop
 * the fields that were removed from it.
 */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** undefined when nothing changes. */
export function mergePatchDiff(from: unknown, to: unknown): unknown {
  if (deepEqual(from, to)) return undefined;
  if (!isPlainObject(from) || !isPlainObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    const sub = mergePatchDiff(from[k], v);
    if (sub !== undefined) patch[k] = sub;
  }
  for (const k of Object.keys(from)) if (!Object.hasOwn(to, k)) patch[k] = null;
  return patch;
}
