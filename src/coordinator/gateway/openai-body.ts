/**
 * Reads an OpenAI request body just enough to route it: the model, whether it streams, max_tokens,
 * and the prompt text the engine will prefill (chat messages rendered in order as `role: content`
 * lines, or the completion prompt). Everything else is left to the engine: the gateway forwards
 * the original bytes, never a re-serialised body.
 */
import { BrixletError } from '../../common/errors.js';
import type { Tokenizer } from './tokenizer.js';

export type OpenAiEndpoint = 'chat' | 'completions';

export interface OpenAiRequest {
  readonly model: string;
  readonly stream: boolean;
  /** stream_options.include_usage: the engine ends the stream with a usage chunk. */
  readonly includeUsage: boolean;
  readonly prompt: string;
  readonly promptTokens: number;
  /** max_completion_tokens, else max_tokens, when given (a positive integer). */
  readonly maxTokens?: number;
}

type Json = Record<string, unknown>;

function bad(reason: string): BrixletError {
  return new BrixletError('BRX_ERR_GATEWAY_BAD_REQUEST', { reason });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the body bytes as JSON; malformed JSON and non-objects are 400s naming what is wrong. */
export function parseJsonBody(raw: Buffer | string | undefined): Json {
  if (raw === undefined || raw.length === 0) throw bad('the request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw bad(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw bad('the request body must be a JSON object');
  return value;
}

/** The text of a chat message's content: a string, or the text parts of a content array. */
function contentText(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw bad(`${at}.content must be a string or an array of content parts`);
  let text = '';
  for (let i = 0; i < content.length; i++) {
    const part: unknown = content[i];
    if (!isObject(part) || typeof part.type !== 'string') throw bad(`${at}.content[${i}] must be an object with a string type`);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw bad(`${at}.content[${i}].text must be a string`);
      text += part.text;
    }
  }
  return text;
}

function renderMessages(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0) throw bad('messages must be a non-empty array');
  let prompt = '';
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    const at = `messages[${i}]`;
    if (!isObject(m)) throw bad(`${at} must be an object`);
    if (typeof m.role !== 'string' || m.role === '') throw bad(`${at}.role must be a non-empty string`);
    if (!('content' in m) && m.role !== 'assistant') throw bad(`${at}.content is required`);
    prompt += `${m.role}: ${contentText(m.content, at)}\n`;
  }
  return prompt;
}

const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && (t as number) >= 0);

/** The completion prompt as text, and its token count when the client sent token ids (the engine takes those as they are). */
function renderPrompt(prompt: unknown): { text: string; tokens?: number } {
  if (typeof prompt === 'string') return { text: prompt };
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) return { text: prompt.join('\n') };
  // Token ids (one prompt, or a batch): routed by length; their digits stand in for text in the prefix index.
  if (isTokenIds(prompt)) return { text: prompt.join(' '), tokens: prompt.length };
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isTokenIds)) {
    return { text: prompt.map((p) => p.join(' ')).join('\n'), tokens: prompt.reduce((n, p) => n + p.length, 0) };
  }
  throw bad('prompt must be a string, a non-empty array of strings, or token ids (an array of non-negative integers, or an array of those)');
}

/**
 * max_completion_tokens, else max_tokens. Both are checked when both are given: an engine (vLLM, the
 * OpenAI API) refuses anything but a positive integer, and it should hear that from the gateway in
 * the gateway's error shape, before a route is chosen.
 */
function maxTokensOf(body: Json): number | undefined {
  let out: number | undefined;
  for (const key of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`${key} must be a positive integer (at least 1), got ${JSON.stringify(v)}`);
    out ??= v;
  }
  return out;
}

/** Validates a parsed body for `endpoint` and renders its prompt. Throws BRX_ERR_GATEWAY_BAD_REQUEST. */
export function readOpenAiRequest(endpoint: OpenAiEndpoint, body: Json, tokenizer: Tokenizer): OpenAiRequest {
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw bad('model is required: a non-empty string naming a model from GET /v1/models');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw bad('stream must be a boolean');
  const rendered = endpoint === 'chat' ? { text: renderMessages(body.messages) } : renderPrompt(body.prompt);
  const prompt = rendered.text;
  const opts = body.stream_options;
  const maxTokens = maxTokensOf(body);
  return {
    model,
    stream: body.stream === true,
    includeUsage: isObject(opts) && opts.include_usage === true,
    prompt,
    promptTokens: 'tokens' in rendered && rendered.tokens !== undefined ? rendered.tokens : tokenizer.count(prompt),
    ...(maxTokens !== undefined && { maxTokens }),
  };
}
