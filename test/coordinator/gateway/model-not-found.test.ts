import { describe, expect, it } from 'vitest';
import { LISTED_MODELS, modelNotFound } from '../../../src/coordinator/gateway/model-not-found.js';
import type { EngineState } from '../../../src/coordinator/router/types.js';

const engines = (...models: string[][]) => ({ all: () => models.map((m) => ({ models: m }) as unknown as EngineState) });

describe('modelNotFound', () => {
  it('says that no engine is configured, and how to add one, when there is none', () => {
    const err = modelNotFound('llama', engines());
    expect(err.code).toBe('BRX_ERR_GATEWAY_MODEL_NOT_FOUND');
    expect(err.statusCode).toBe(404);
    expect(err.message).toBe(
      'the model llama does not exist; no engine is configured: give engines with --gateway.engines URL,… or ' +
        '--gateway.engine-selector, or run brixlet up --engines N for mock engines',
    );
  });

  it('lists the served models once each, sorted, with the likely ones first for a typo', () => {
    expect(modelNotFound('gpt-17', engines(['b-model', 'a-model'], ['a-model'])).message).toBe('the model gpt-17 does not exist; served: a-model, b-model');
    expect(modelNotFound('mock-llama-3-8', engines(['mock-llama-3-8b', 'qwen'])).message).toBe(
      'the model mock-llama-3-8 does not exist; did you mean mock-llama-3-8b? served: mock-llama-3-8b, qwen',
    );
  });

  it('caps a long list', () => {
    const many = Array.from({ length: 25 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const msg = modelNotFound('zzz', engines(many)).message;
    expect(msg).toContain(`served: ${many.slice(0, LISTED_MODELS).join(', ')}, … (25 in all)`);
    expect(msg).not.toContain('m10');
  });
});
