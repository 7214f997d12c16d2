import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { parseJsonBody, readOpenAiRequest } from '../../../src/coordinator/gateway/openai-body.js';
import { charTokenizer } from '../../../src/coordinator/gateway/tokenizer.js';

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isBrixletError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('BRX_ERR_GATEWAY_BAD_REQUEST');
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('parseJsonBody', () => {
  it('parses a JSON object from bytes', () => {
    expect(parseJsonBody(Buffer.from('{"model":"m"}'))).toEqual({ model: 'm' });
  });
  it('rejects empty, malformed and non-object bodies with a reason', () => {
    expect(reason(() => parseJsonBody(undefined))).toMatch(/empty/);
    expect(reason(() => parseJsonBody(Buffer.from('{"model":')))).toMatch(/not valid JSON/);
    expect(reason(() => parseJsonBody(Buffer.from('[1]')))).toMatch(/JSON object/);
    expect(reason(() => parseJsonBody(Buffer.from('null')))).toMatch(/JSON object/);
  });
});

describe('readOpenAiRequest', () => {
  it('renders chat messages in order as role: content lines and counts characters as tokens', () => {
    const r = readOpenAiRequest(
      'chat',
      {
        model: 'm',
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 7,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'hi ' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'there' }] },
          { role: 'assistant', content: null, tool_calls: [] },
        ],
      },
      charTokenizer,
    );
    expect(r).toEqual({ model: 'm', stream: true, includeUsage: true, maxTokens: 7, prompt: 'system: be brief\nuser: hi there\nassistant: \n', promptTokens: 44 });
  });

  it('takes a completion prompt string or joins an array of prompts; max_completion_tokens wins', () => {
    expect(readOpenAiRequest('completions', { model: 'm', prompt: 'abc', max_completion_tokens: 3, max_tokens: 9 }, charTokenizer)).toMatchObject({
      prompt: 'abc',
      promptTokens: 3,
      maxTokens: 3,
      stream: false,
      includeUsage: false,
    });
    expect(readOpenAiRequest('completions', { model: 'm', prompt: ['a', 'b'] }, charTokenizer).prompt).toBe('a\nb');
  });

  it('uses the tokenizer it is given', () => {
    const words = { name: 'words', count: (t: string) => t.split(/\s+/).filter(Boolean).length };
    expect(readOpenAiRequest('completions', { model: 'm', prompt: 'one two three' }, words).promptTokens).toBe(3);
  });

  it('names what is wrong', () => {
    expect(reason(() => readOpenAiRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, charTokenizer))).toMatch(/model is required/);
    expect(reason(() => readOpenAiRequest('chat', { model: 7, messages: [] }, charTokenizer))).toMatch(/model is required/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm' }, charTokenizer))).toMatch(/messages must be a non-empty array/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [] }, charTokenizer))).toMatch(/non-empty array/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: ['x'] }, charTokenizer))).toMatch(/messages\[0\] must be an object/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [{ content: 'x' }] }, charTokenizer))).toMatch(/messages\[0\]\.role/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user' }] }, charTokenizer))).toMatch(/content is required/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user', content: 5 }] }, charTokenizer))).toMatch(/content must be a string/);
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, charTokenizer))).toMatch(/content\[0\]\.text/);
    expect(reason(() => readOpenAiRequest('completions', { model: 'm' }, charTokenizer))).toMatch(/prompt must be/);
    expect(reason(() => readOpenAiRequest('completions', { model: 'm', prompt: [1, 'a'] }, charTokenizer))).toMatch(/prompt must be/);
    expect(reason(() => readOpenAiRequest('completions', { model: 'm', prompt: [1.5, 2] }, charTokenizer))).toMatch(/prompt must be/);
    expect(reason(() => readOpenAiRequest('completions', { model: 'm', prompt: [[1], []] }, charTokenizer))).toMatch(/prompt must be/);
    for (const [key, v] of [['max_tokens', -1], ['max_tokens', 0], ['max_tokens', 2.5], ['max_tokens', '8'], ['max_completion_tokens', 0]] as const) {
      expect(reason(() => readOpenAiRequest('completions', { model: 'm', prompt: 'x', [key]: v }, charTokenizer))).toBe(
        `${key} must be a positive integer (at least 1), got ${JSON.stringify(v)}`,
      );
    }
    // both are checked, not only the one that wins
    expect(reason(() => readOpenAiRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 4, max_tokens: 0 }, charTokenizer))).toMatch(/^max_tokens must be a positive integer/);
    expect(reason(() => readOpenAiRequest('completions', { model: 'm', prompt: 'x', stream: 'yes' }, charTokenizer))).toMatch(/stream must be a boolean/);
  });
});

describe('token-id prompts', () => {
  it('accepts one prompt or a batch of token ids and counts their tokens, not characters', () => {
    const one = readOpenAiRequest('completions', { model: 'm', prompt: [101, 2023, 2003] }, charTokenizer);
    expect(one).toMatchObject({ prompt: '101 2023 2003', promptTokens: 3 });
    const batch = readOpenAiRequest('completions', { model: 'm', prompt: [[1, 2], [3, 4, 5]] }, charTokenizer);
    expect(batch).toMatchObject({ prompt: '1 2\n3 4 5', promptTokens: 5 });
  });
});
