/**
 * Reads token usage out of an engine's response bytes as they pass through, without parsing the
 * JSON: counts SSE events by their blank-line terminators (JSON escapes newlines, so a blank line
 * only ends an event; one event per streamed chunk, about one token each in vLLM) and picks
 * the last `"prompt_tokens"` / `"completion_tokens"` numbers it sees (the usage object of a
 * non-streaming body, or the final chunk of a stream with include_usage). Chunk boundaries may
 * split a pattern anywhere: a short tail of the previous chunk is scanned again with the next one.
 */
import type { BrixletError } from '../../common/errors.js';

const EVENT_END = Buffer.from('\n\n');
const EVENT_END_CRLF = Buffer.from('\r\n\r\n');
const DONE = Buffer.from('[DONE]');
const COMPLETION = Buffer.from('"completion_tokens"');
const PROMPT = Buffer.from('"prompt_tokens"');
/** Longest pattern plus room for `: ` and a number, so a split number is read whole on the next chunk. */
const CARRY = 48;

/** The integer after `"key"` and a colon at `at` (the index of the key's opening quote), or -1. */
function numberAfter(buf: Buffer, at: number, keyLength: number): number {
  let i = at + keyLength;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x3a || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  let n = 0;
  let digits = 0;
  for (; i < buf.length; i++) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

function countFrom(buf: Buffer, prev: Buffer | undefined, pattern: Buffer): number {
  const from = prev === undefined ? 0 : Math.max(0, prev.length - (pattern.length - 1));
  return count(from === 0 ? buf : buf.subarray(from), pattern);
}

function count(buf: Buffer, pattern: Buffer): number {
  let n = 0;
  let i = buf.indexOf(pattern);
  while (i !== -1) {
    n++;
    i = buf.indexOf(pattern, i + pattern.length);
  }
  return n;
}

export class UsageScanner {
  /** SSE events seen (ended by a blank line). */
  events = 0;
  /** `[DONE]` seen. */
  done = false;
  /** usage.prompt_tokens / usage.completion_tokens when the engine reported them, else -1. */
  promptTokens = -1;
  completionTokens = -1;
  private carry: Buffer | undefined;

  /** Scans one chunk of a stream. */
  feed(chunk: Buffer): void {
    const prev = this.carry;
    const buf = prev === undefined ? chunk : Buffer.concat([prev, chunk]);
    // Only matches that end in the new chunk are new: scan from pattern.length-1 bytes before it.
    this.events += countFrom(buf, prev, EVENT_END) + countFrom(buf, prev, EVENT_END_CRLF);
    if (!this.done && buf.indexOf(DONE) !== -1) this.done = true;
    this.readUsage(buf);
    this.carry = buf.length > CARRY ? Buffer.from(buf.subarray(buf.length - CARRY)) : buf;
  }

  /** Scans a whole (non-streaming) body. */
  scanBody(body: Buffer): void {
    this.readUsage(body);
  }

  /**
   * Output tokens of the response: the reported completion_tokens, else the streamed events that
   * carried content (every event but [DONE] and a trailing usage-only chunk), else undefined.
   */
  outputTokens(): number | undefined {
    if (this.completionTokens >= 0) return this.completionTokens;
    if (this.events === 0) return undefined;
    return Math.max(0, this.events - (this.done ? 1 : 0));
  }

  private readUsage(buf: Buffer): void {
    const c = buf.lastIndexOf(COMPLETION);
    if (c !== -1) {
      const n = numberAfter(buf, c, COMPLETION.length);
      if (n >= 0) this.completionTokens = n;
    }
    const p = buf.lastIndexOf(PROMPT);
    if (p !== -1) {
      const n = numberAfter(buf, p, PROMPT.length);
      if (n >= 0) this.promptTokens = n;
    }
  }
}

/** The SSE events that end a stream the gateway cannot finish: an OpenAI-style error, then [DONE]. */
export function sseErrorEvents(err: BrixletError): Buffer {
  const body = { error: { code: err.code, message: err.message, type: 'server_error', param: null } };
  return Buffer.from(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`);
}
