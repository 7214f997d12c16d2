/**
 * Parses and checks an OpenAI completion or chat-completion body the way vLLM's server does for
 * the fields the mock engine uses; anything wrong becomes an OpenAI-style error (400 / 404).
 * The prompt text a request is hashed and counted by: the completion `prompt`, or for chat each
 * message as `<|role|>content\n` so that a conversation's next turn shares its prefix.
 */

export type Endpoint = 'completion' | 'chat';

export interface ParsedRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly promptText: string;
  /** max_tokens / max_completion_tokens when given. */
  readonly maxTokens: number | undefined;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** vLLM's `cache_salt`: a request's cached blocks are shared only with requests of the same salt. */
  readonly cacheSalt?: string;
}

/** The longest `cache_salt` accepted, in UTF-16 code units. */
export const MAX_CACHE_SALT_CHARS = 1024;

export interface ApiError {
  readonly status: number;
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string;
}

export function apiError(status: number, code: string, message: string, param: string | null = null): ApiError {
  const type = status === 404 ? 'not_found_error' : status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { status, message, type, param, code };
}

type Json = Record<string, unknown>;

/** Checks `raw` (the request body) and returns the request or the error to answer with. */
export function parseRequest(endpoint: Endpoint, raw: string, servedModels: readonly string[], charsPerToken: number): ParsedRequest | ApiError {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (e) {
    return apiError(400, 'invalid_json', `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return apiError(400, 'invalid_request', 'request body must be a JSON object');
  const b = body as Json;
  if (b.model === undefined) return apiError(400, 'missing_field', 'you must provide a model parameter', 'model');
  if (typeof b.model !== 'string') return apiError(400, 'invalid_type', 'model must be a string', 'model');
  if (!servedModels.includes(b.model)) {
    return apiError(404, 'model_not_found', `The model \`${b.model}\` does not exist. Served models: ${servedModels.join(', ')}.`, 'model');
  }
  const prompt = endpoint === 'chat' ? chatPrompt(b.messages) : completionPrompt(b.prompt, charsPerToken);
  if (typeof prompt !== 'string') return prompt;
  const maxTokens = maxTokensOf(b);
  if (typeof maxTokens === 'object') return maxTokens;
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') return apiError(400, 'invalid_type', 'stream must be a boolean', 'stream');
  const opts = b.stream_options;
  if (opts !== undefined && opts !== null && (typeof opts !== 'object' || Array.isArray(opts))) {
    return apiError(400, 'invalid_type', 'stream_options must be an object', 'stream_options');
  }
  const includeUsage = opts !== undefined && opts !== null && (opts as Json).include_usage === true;
  const salt = b.cache_salt;
  if (salt !== undefined && salt !== null) {
    if (typeof salt !== 'string') return apiError(400, 'invalid_type', 'cache_salt must be a string', 'cache_salt');
    // As vLLM: a salt, when given, is not empty.
    if (salt === '') return apiError(400, 'invalid_value', 'cache_salt must be a non-empty string if provided', 'cache_salt');
    if (salt.length > MAX_CACHE_SALT_CHARS) return apiError(400, 'invalid_value', `cache_salt must be at most ${MAX_CACHE_SALT_CHARS} characters`, 'cache_salt');
  }
  return { endpoint, model: b.model, promptText: prompt, maxTokens, stream: b.stream === true, includeUsage, ...(typeof salt === 'string' && { cacheSalt: salt }) };
}

function chatPrompt(messages: unknown): string | ApiError {
  if (messages === undefined) return apiError(400, 'missing_field', 'messages is required', 'messages');
  if (!Array.isArray(messages) || messages.length === 0) return apiError(400, 'invalid_type', 'messages must be a non-empty array', 'messages');
  let text = '';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as unknown;
    if (typeof m !== 'object' || m === null || typeof (m as Json).role !== 'string') {
      return apiError(400, 'invalid_type', `messages[${i}] must be an object with a string role`, `messages[${i}]`);
    }
    const content = contentText((m as Json).content);
    if (content === undefined) return apiError(400, 'invalid_type', `messages[${i}].content must be a string, an array of text parts or null`, `messages[${i}].content`);
    text += `<|${(m as Json).role as string}|>${content}\n`;
  }
  return text;
}

function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content as unknown[]) {
    if (typeof part !== 'object' || part === null) return undefined;
    const t = (part as Json).text;
    if (typeof t === 'string') text += t;
  }
  return text;
}

function completionPrompt(prompt: unknown, charsPerToken: number): string | ApiError {
  if (prompt === undefined || prompt === null) return apiError(400, 'missing_field', 'prompt is required', 'prompt');
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length > 0) {
    // A list of strings (joined) or of token ids (charsPerToken characters per id keep the count).
    if (prompt.every((p) => typeof p === 'string')) return prompt.join('');
    if (prompt.every((p) => Number.isInteger(p) && (p as number) >= 0)) {
      let text = '';
      for (const id of prompt as number[]) text += String.fromCharCode(0x4e00 + (id % 0x5000)).repeat(Math.ceil(charsPerToken));
      return text;
    }
  }
  return apiError(400, 'invalid_type', 'prompt must be a string, a non-empty array of strings or an array of token ids', 'prompt');
}

function maxTokensOf(b: Json): number | undefined | ApiError {
  for (const key of ['max_completion_tokens', 'max_tokens']) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v) || (v as number) < 1) return apiError(400, 'invalid_value', `${key} must be a positive integer`, key);
    return v as number;
  }
  return undefined;
}
