import { describe, expect, it } from 'vitest';
import { isBrixletError } from '../../../src/common/errors.js';
import { parseEngineList } from '../../../src/coordinator/engines/static-engines.js';

function problems(text: string): readonly unknown[] {
  try {
    parseEngineList(text);
  } catch (err) {
    if (isBrixletError(err, 'BRX_ERR_ENGINE_CONFIG')) return err.details;
    throw err;
  }
  throw new Error('expected BRX_ERR_ENGINE_CONFIG');
}

describe('parseEngineList', () => {
  it('is empty for an empty setting', () => {
    expect(parseEngineList('')).toEqual([]);
    expect(parseEngineList('  ')).toEqual([]);
  });

  it('parses URLs with optional GPU types, keyed by the normalised URL', () => {
    expect(parseEngineList('http://10.0.0.5:8000#h100, http://10.0.0.6:8000/v1/ ,https://engine.example/vllm#A10')).toEqual([
      { uid: 'http://10.0.0.5:8000', name: '10.0.0.5:8000', url: 'http://10.0.0.5:8000', source: 'static', gpuType: 'h100' },
      { uid: 'http://10.0.0.6:8000', name: '10.0.0.6:8000', url: 'http://10.0.0.6:8000', source: 'static' },
      { uid: 'https://engine.example/vllm', name: 'engine.example/vllm', url: 'https://engine.example/vllm', source: 'static', gpuType: 'A10' },
    ]);
  });

  it('marks the source it is given (brixlet up)', () => {
    expect(parseEngineList('http://127.0.0.1:9001', 'up')[0]?.source).toBe('up');
  });

  it('reports every bad entry at once, by position', () => {
    const list = problems('http://ok:1,ftp://x:1,not a url,http://a:1#bad type!,http://ok:1/v1,,http://u:p@h:1,http://q:1/?x=1');
    expect(list).toEqual([
      'entry 2 "ftp://x:1": scheme ftp: is not http or https',
      'entry 3 "not a url": not a URL (expected http://host:port)',
      'entry 4 "http://a:1#bad type!": GPU type "bad type!" is not a name (letters, digits, . _ -)',
      'entry 5 "http://ok:1/v1": the same engine as entry 1',
      'entry 6 "": empty entry',
      'entry 7 "http://u:p@h:1": credentials in the URL are not supported',
      'entry 8 "http://q:1/?x=1": a query string is not allowed',
    ]);
  });

  it('puts the problems in the message for the CLI', () => {
    expect(() => parseEngineList('http://a:1,gopher://b')).toThrow(/invalid engine setting: --gateway.engines: entry 2 "gopher:\/\/b"/);
  });
});
