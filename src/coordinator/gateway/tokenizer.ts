/**
 * How the gateway counts prompt tokens for routing and the load monitor. Without a configured
 * tokenizer a character is a token: the prefix index then hashes blocks of characters, and the
 * counts are an upper bound of the engine's (a BPE token averages about four characters).
 */

export interface Tokenizer {
  readonly name: string;
  /** Tokens in `text`. Called once per request on the rendered prompt: must be cheap. */
  count(text: string): number;
}

/** Characters as tokens (the default). */
export const charTokenizer: Tokenizer = {
  name: 'chars',
  count: (text) => text.length,
};
