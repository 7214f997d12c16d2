import { describe, expect, it } from 'vitest';
import { BrixletError } from '../../../src/common/errors.js';
import { sseErrorEvents, UsageScanner } from '../../../src/coordinator/gateway/sse.js';

const chunk = (i: number) => `data: {"id":"c","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}]}\n\n`;
const usage = 'data: {"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":345,"total_tokens":357}}\n\n';
const stream = `${Array.from({ length: 5 }, (_, i) => chunk(i)).join('')}${usage}data: [DONE]\n\n`;

describe('UsageScanner', () => {
  it('reads the usage of a stream however the bytes are split', () => {
    const bytes = Buffer.from(stream);
    for (const size of [1, 2, 3, 7, 16, 50, bytes.length]) {
      const s = new UsageScanner();
      for (let i = 0; i < bytes.length; i += size) s.feed(bytes.subarray(i, i + size));
      expect({ size, events: s.events, done: s.done, prompt: s.promptTokens, completion: s.completionTokens, out: s.outputTokens() }).toEqual({
        size,
        events: 7,
        done: true,
        prompt: 12,
        completion: 345,
        out: 345,
      });
    }
  });

  it('counts content events when the engine reports no usage', () => {
    const s = new UsageScanner();
    const bytes = Buffer.from(`${chunk(0)}${chunk(1)}${chunk(2)}data: [DONE]\n\n`);
    for (let i = 0; i < bytes.length; i += 5) s.feed(bytes.subarray(i, i + 5));
    expect(s.completionTokens).toBe(-1);
    expect(s.outputTokens()).toBe(3);
    expect(new UsageScanner().outputTokens()).toBeUndefined();
  });

  it('counts events, not the text of the tokens, and takes CRLF framing', () => {
    const s = new UsageScanner();
    s.feed(Buffer.from('data: {"choices":[{"delta":{"content":"data: \\n\\n"}}]}\n\n'));
    s.feed(Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\ndata: [DONE]\r\n\r\n'));
    expect([s.events, s.done, s.outputTokens()]).toEqual([3, true, 2]);
  });

  it('reads usage from a whole JSON body', () => {
    const s = new UsageScanner();
    s.scanBody(Buffer.from(JSON.stringify({ choices: [{ text: 'x' }], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } }, null, 2)));
    expect([s.promptTokens, s.completionTokens, s.outputTokens()]).toEqual([9, 4, 4]);
  });
});

it('renders an OpenAI-style error event followed by [DONE]', () => {
  const text = sseErrorEvents(new BrixletError('BRX_ERR_GATEWAY_UPSTREAM', { engine: 'e1', reason: 'reset' })).toString();
  const events = text.split('\n\n').filter(Boolean);
  expect(events).toHaveLength(2);
  expect(JSON.parse(events[0]!.slice('data: '.length))).toEqual({
    error: { code: 'BRX_ERR_GATEWAY_UPSTREAM', message: 'engine e1 failed: reset', type: 'server_error', param: null },
  });
  expect(events[1]).toBe('data: [DONE]');
});
