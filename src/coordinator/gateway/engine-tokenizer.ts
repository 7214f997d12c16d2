/**
 * The `engine` tokenizer (--gateway.tokenizer engine): a prompt's token ids come from POST /tokenize
 * of an engine serving the model (vLLM's endpoint: {model, prompt} → {count, tokens}), so prompt
 * counts are the engine's and the prefix index cuts blocks of real tokens. The ids become a string
 * with one UTF-16 code unit per token (id mod 2^16) that the prefix index hashes like text. Bounded by
 * a timeout and a response size; on any failure the caller keeps counting characters.
 */
import { readCapped } from '../../common/http/read-capped.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface TokenizedPrompt {
  /** One code unit per token: what the prefix index hashes. */
  readonly text: string;
  readonly count: number;
}

export interface EngineTokenizer {
  tokenize(engineUrl: string, model: string, prompt: string): Promise<TokenizedPrompt | undefined>;
}

export interface EngineTokenizerOptions {
  readonly timeoutMs?: number;
  /** Largest /tokenize answer read (default 16 MiB). */
  readonly maxBytes?: number;
}

/** Token ids as a string of code units, built in slices (no argument-count limit on long prompts). */
export function tokensToText(ids: readonly number[]): string {
  const SLICE = 8192;
  let out = '';
  const units = new Array<number>(Math.min(SLICE, ids.length));
  for (let i = 0; i < ids.length; i += SLICE) {
    const end = Math.min(ids.length, i + SLICE);
    units.length = end - i;
    for (let j = i; j < end; j++) units[j - i] = (ids[j] as number) & 0xffff;
    out += String.fromCharCode(...units);
  }
  return out;
}

function tokenList(body: unknown): number[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const tokens = (body as { tokens?: unknown }).tokens;
  if (!Array.isArray(tokens)) return undefined;
  for (const t of tokens) if (!Number.isInteger(t) || (t as number) < 0) return undefined;
  return tokens as number[];
}

export function createEngineTokenizer(pools: UpstreamPools, opts: EngineTokenizerOptions = {}): EngineTokenizer {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  return {
    async tokenize(engineUrl, model, prompt) {
      try {
        const { pool, basePath } = pools.target(engineUrl);
        const res = await pool.request({
          method: 'POST',
          path: `${basePath}/tokenize`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, prompt }),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await readCapped(res.body, maxBytes);
        if (text === undefined || res.statusCode !== 200) return undefined;
        const ids = tokenList(JSON.parse(text));
        return ids === undefined ? undefined : { text: tokensToText(ids), count: ids.length };
      } catch {
        return undefined;
      }
    },
  };
}
