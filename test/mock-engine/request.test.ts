import { describe, expect, it } from 'vitest';
import { MAX_CACHE_SALT_CHARS, parseRequest } from '../../src/mock-engine/request.js';

const served = ['m'];
const parse = (endpoint: 'chat' | 'completion', body: unknown) => parseRequest(endpoint, JSON.stringify(body), served, 4);

describe('parseRequest', () => {
  it('renders chat messages as a role-tagged prompt, text parts joined', () => {
    const r = parse('chat', { model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { role: 'assistant', content: null }] });
    expect(r).toMatchObject({ endpoint: 'chat', model: 'm', promptText: '<|system|>be brief\n<|user|>ab\n<|assistant|>\n', stream: false, includeUsage: false, maxTokens: undefined });
  });

  it('accepts a prompt as a string, a list of strings or token ids (charsPerToken characters each)', () => {
    expect(parse('completion', { model: 'm', prompt: ['ab', 'cd'] })).toMatchObject({ promptText: 'abcd' });
    const ids = parse('completion', { model: 'm', prompt: [1, 2, 3] });
    expect('promptText' in ids && ids.promptText.length).toBe(12);
    expect(parse('completion', { model: 'm', prompt: [1, 'x'] })).toMatchObject({ status: 400, param: 'prompt' });
  });

  it('reads max_completion_tokens before max_tokens, stream and include_usage', () => {
    expect(parse('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 9, max_completion_tokens: 3, stream: true, stream_options: { include_usage: true } })).toMatchObject({
      maxTokens: 3,
      stream: true,
      includeUsage: true,
    });
    expect(parse('completion', { model: 'm', prompt: 'x', max_tokens: null })).toMatchObject({ maxTokens: undefined });
  });

  it('rejects what vLLM rejects, with the field named', () => {
    expect(parseRequest('chat', '[1]', served, 4)).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(parse('chat', { model: 3, messages: [] })).toMatchObject({ status: 400, param: 'model' });
    expect(parse('chat', { model: 'm', messages: [] })).toMatchObject({ status: 400, param: 'messages' });
    expect(parse('chat', { model: 'm', messages: [{ content: 'x' }] })).toMatchObject({ status: 400, param: 'messages[0]' });
    expect(parse('chat', { model: 'm', messages: [{ role: 'user', content: 5 }] })).toMatchObject({ status: 400, param: 'messages[0].content' });
    expect(parse('completion', { model: 'm', prompt: 'x', max_tokens: 1.5 })).toMatchObject({ status: 400, param: 'max_tokens' });
    expect(parse('completion', { model: 'm', prompt: 'x', stream: 'yes' })).toMatchObject({ status: 400, param: 'stream' });
    expect(parse('completion', { model: 'm', prompt: 'x', stream_options: 1 })).toMatchObject({ status: 400, param: 'stream_options' });
    expect(parse('completion', { model: 'x', prompt: 'x' })).toMatchObject({ status: 404, type: 'not_found_error', code: 'model_not_found' });
  });

  it("reads vLLM's cache_salt: a non-empty string of at most MAX_CACHE_SALT_CHARS characters", () => {
    expect(parse('completion', { model: 'm', prompt: 'x', cache_salt: 'tenant-a' })).toMatchObject({ cacheSalt: 'tenant-a' });
    expect(parse('completion', { model: 'm', prompt: 'x', cache_salt: null })).not.toHaveProperty('cacheSalt');
    expect(parse('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], cache_salt: 's'.repeat(MAX_CACHE_SALT_CHARS) })).toMatchObject({ cacheSalt: 's'.repeat(MAX_CACHE_SALT_CHARS) });
    expect(parse('completion', { model: 'm', prompt: 'x', cache_salt: 's'.repeat(MAX_CACHE_SALT_CHARS + 1) })).toMatchObject({ status: 400, code: 'invalid_value', param: 'cache_salt' });
    expect(parse('completion', { model: 'm', prompt: 'x', cache_salt: '' })).toMatchObject({ status: 400, code: 'invalid_value', param: 'cache_salt' });
    expect(parse('completion', { model: 'm', prompt: 'x', cache_salt: 7 })).toMatchObject({ status: 400, code: 'invalid_type', param: 'cache_salt' });
  });
});
