import { expect, it } from 'vitest';
import { createStyle } from '../../src/cli/style.js';

it('colors only on a TTY without NO_COLOR or TERM=dumb', () => {
  expect(createStyle({ isTTY: true }, {}).red('x')).toBe('\x1b[31mx\x1b[0m');
  expect(createStyle({ isTTY: false }, {}).red('x')).toBe('x');
  expect(createStyle({}, {}).bold('x')).toBe('x');
  expect(createStyle({ isTTY: true }, { NO_COLOR: '1' }).green('x')).toBe('x');
  expect(createStyle({ isTTY: true }, { TERM: 'dumb' }).color).toBe(false);
});
