/**
 * What the mock engine "generates": deterministic filler words, one word per output token, and
 * seeded draws for output lengths. Nothing here depends on the prompt, so answers are reproducible
 * from the engine seed and the order requests arrive in.
 */

const WORDS = (
  'the a of to and in is that it for on with as be this by are from at or an was which not can ' +
  'model token cache block engine batch prefix request router node queue stream latency memory ' +
  'kernel tensor layer prompt answer vector weight scale shard route serve decode prefill step'
).split(' ');

/** Each word as the JSON string of its first-token form and of its later form (with a leading space). */
const FIRST_JSON = WORDS.map((w) => JSON.stringify(w));
const NEXT_JSON = WORDS.map((w) => JSON.stringify(` ${w}`));

/** Output length drawn when a request gives no max_tokens: uniform in [MIN, MAX]. */
export const DRAWN_OUTPUT_MIN = 16;
export const DRAWN_OUTPUT_MAX = 256;

/** Token `index` of an answer whose words start at `start`, as a JSON string literal. */
export function tokenJson(start: number, index: number): string {
  const w = (start + index * 7) % WORDS.length;
  return (index === 0 ? FIRST_JSON[w] : NEXT_JSON[w]) as string;
}

/** The whole answer text for `tokens` tokens. */
export function answerText(start: number, tokens: number): string {
  let s = '';
  for (let i = 0; i < tokens; i++) {
    const w = WORDS[(start + i * 7) % WORDS.length] as string;
    s += i === 0 ? w : ` ${w}`;
  }
  return s;
}

export const WORD_COUNT = WORDS.length;
