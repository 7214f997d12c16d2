/** "Did you mean" for unknown keys, flags and commands: the closest candidate within a small edit distance. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * Up to `max` candidates for a mistyped name, best first: the edit-distance match, then names the word
 * begins (a truncated `nvmlDeviceGetTemp` → `nvmlDeviceGetTemperature…`), then names containing it.
 */
export function suggestMany(word: string, candidates: Iterable<string>, max = 3): string[] {
  const all = [...new Set(candidates)];
  const w = word.toLowerCase();
  const out = new Set<string>();
  const close = suggest(word, all);
  if (close !== undefined) out.add(close);
  for (const c of all) if (c.toLowerCase().startsWith(w)) out.add(c);
  if (w.length >= 3) for (const c of all) if (c.toLowerCase().includes(w)) out.add(c);
  return [...out].slice(0, max);
}
