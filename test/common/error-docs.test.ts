import { expect, it } from 'vitest';
import { renderErrorDocs } from '../../src/common/error-docs.js';
import { codes, errorCodes } from '../../src/common/errors.js';

it('renders one row per catalog entry with status, exit code and an escaped message', () => {
  const lines = renderErrorDocs().split('\n');
  expect(lines.slice(3, -1)).toHaveLength(errorCodes().length);
  expect(lines).toContain(`| \`BRX_ERR_HTTP_NOT_FOUND\` | 404 | 1 | ${codes.BRX_ERR_HTTP_NOT_FOUND.message} | ${codes.BRX_ERR_HTTP_NOT_FOUND.fix} |`);
  expect(lines[0]).toMatch(/^<!-- errors:begin/);
  expect(lines.at(-1)).toBe('<!-- errors:end -->');
});
