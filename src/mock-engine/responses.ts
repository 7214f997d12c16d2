/**
 * OpenAI-compatible response bodies, built as strings: the non-streaming completion and chat
 * objects, the server-sent-event chunks of a stream (one token per chunk, the last one carrying
 * finish_reason, an optional usage chunk, then `data: [DONE]`), and error bodies. Per request the
 * constant JSON head of a chunk is built once, so a token costs one string concatenation.
 */
import { answerText, tokenJson } from './filler.js';
import type { ApiError, Endpoint } from './request.js';

export type FinishReason = 'stop' | 'length';

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface AnswerIdentity {
  readonly endpoint: Endpoint;
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export function errorBody(e: ApiError): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}

/** An error as one server-sent event (for a stream that cannot finish). */
export function errorEvent(e: ApiError): string {
  return `data: ${errorBody(e)}\n\n`;
}

function usageJson(u: Usage): string {
  return `{"prompt_tokens":${u.promptTokens},"completion_tokens":${u.completionTokens},"total_tokens":${u.promptTokens + u.completionTokens}}`;
}

/** The full non-streaming answer. */
export function answerBody(a: AnswerIdentity, wordStart: number, finish: FinishReason, usage: Usage): string {
  const text = JSON.stringify(answerText(wordStart, usage.completionTokens));
  const head = `{"id":${JSON.stringify(a.id)},"object":"${a.endpoint === 'chat' ? 'chat.completion' : 'text_completion'}","created":${a.created},"model":${JSON.stringify(a.model)},"choices":[{"index":0,`;
  const choice = a.endpoint === 'chat' ? `"message":{"role":"assistant","content":${text}}` : `"text":${text}`;
  return `${head}${choice},"logprobs":null,"finish_reason":"${finish}"}],"usage":${usageJson(usage)}}`;
}

/** Builds the chunks of one streamed answer. */
export class StreamChunks {
  private readonly head: string;
  private readonly chat: boolean;

  constructor(
    a: AnswerIdentity,
    private readonly wordStart: number,
  ) {
    this.chat = a.endpoint === 'chat';
    this.head = `data: {"id":${JSON.stringify(a.id)},"object":"${this.chat ? 'chat.completion.chunk' : 'text_completion'}","created":${a.created},"model":${JSON.stringify(a.model)},"choices":[`;
  }

  /** Token `index`'s chunk; `finish` on the last one. */
  token(index: number, finish: FinishReason | undefined): string {
    const tok = tokenJson(this.wordStart, index);
    const fr = finish === undefined ? 'null' : `"${finish}"`;
    const body = this.chat ? `"delta":{${index === 0 ? '"role":"assistant",' : ''}"content":${tok}}` : `"text":${tok}`;
    return `${this.head}{"index":0,${body},"logprobs":null,"finish_reason":${fr}}]}\n\n`;
  }

  /** The stream_options.include_usage chunk: no choices, the usage. */
  usage(u: Usage): string {
    return `${this.head}],"usage":${usageJson(u)}}\n\n`;
  }
}
