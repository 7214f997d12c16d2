// Counts the JavaScript objects reachable from a root, so a test can assert "no object per entry"
// deterministically (a GC-pause or heap-size bound depends on the machine; this does not).
// Typed arrays and ArrayBuffers count as one object each and are not walked: their elements are not
// objects. Map and Set entries, array elements, own properties (string and symbol keys, getters
// skipped) and prototypes other than the built-in ones are walked.

const BUILTIN_PROTOTYPES = new Set<unknown>([Object.prototype, Array.prototype, Function.prototype, Map.prototype, Set.prototype, null]);

/** Reachable objects from `root`, stopping (and answering `limit`) once `limit` is reached. */
export function countReachableObjects(root: unknown, limit = 1_000_000): number {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) continue;
    seen.add(v);
    if (seen.size >= limit) return limit;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue;
    if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) stack.push(x);
    }
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      if (d !== undefined && 'value' in d) stack.push(d.value);
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (!BUILTIN_PROTOTYPES.has(proto)) stack.push(proto);
  }
  return seen.size;
}
