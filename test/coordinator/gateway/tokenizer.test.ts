import { expect, it } from 'vitest';
import { charTokenizer } from '../../../src/coordinator/gateway/tokenizer.js';

it('counts characters as tokens when no tokenizer is configured', () => {
  expect(charTokenizer.name).toBe('chars');
  expect(charTokenizer.count('')).toBe(0);
  expect(charTokenizer.count('hello world')).toBe(11);
});
