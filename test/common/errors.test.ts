import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BrixletError, codes, errorCodes, formatMessage, isBrixletError } from '../../src/common/errors.js';
import { errorDocsPath } from '../helpers/repo.js';
import { renderErrorDocs } from '../../src/common/error-docs.js';
import { spliceBlock } from '../../src/common/config/config-docs.js';

/** Rows of the error table in docs/errors.md: | `BRX_ERR_…` | status | exit | message | fix |. */
function docRows(): { code: string; status: number; exit: number }[] {
  const doc = readFileSync(errorDocsPath, 'utf8');
  return [...doc.matchAll(/^\| `(BRX_ERR_[A-Z0-9_]+)` \| (\d+) \| (\d+) \|/gm)].map((m) => ({
    code: m[1] as string,
    status: Number(m[2]),
    exit: Number(m[3]),
  }));
}

describe('error catalog', () => {
  it('names every code BRX_ERR_<AREA>_<COND> with a 4xx/5xx status and a fix', () => {
    for (const code of errorCodes()) {
      expect(code).toMatch(/^BRX_ERR_[A-Z]+_[A-Z0-9_]+$/);
      const spec = codes[code];
      expect(spec.statusCode).toBeGreaterThanOrEqual(400);
      expect(spec.statusCode).toBeLessThan(600);
      expect(spec.fix.length).toBeGreaterThan(10);
      expect([1, 2]).toContain(spec.exitCode);
    }
  });

  it('matches the error table in docs/errors.md in both directions, in order, with status and exit code', () => {
    expect(docRows()).toEqual(errorCodes().map((code) => ({ code, status: codes[code].statusCode, exit: codes[code].exitCode })));
  });

  it('is the generated block in docs/errors.md (regenerate with `npm run docs`)', () => {
    const doc = readFileSync(errorDocsPath, 'utf8');
    expect(spliceBlock(doc, 'errors', renderErrorDocs())).toBe(doc);
  });

  it('fills message params and keeps unknown placeholders visible', () => {
    expect(formatMessage('cannot listen on {host}:{port}', { host: '0.0.0.0', port: 80 })).toBe('cannot listen on 0.0.0.0:80');
    expect(formatMessage('missing {thing}', {})).toBe('missing {thing}');
  });

  it('carries code, status, exit code, details and cause', () => {
    const cause = new Error('EADDRINUSE');
    const err = new BrixletError('BRX_ERR_HTTP_LISTEN', { host: 'h', port: 1, server: 'agent', reason: 'r' }, { cause, details: ['x'] });
    expect(err.code).toBe('BRX_ERR_HTTP_LISTEN');
    expect(err.statusCode).toBe(500);
    expect(err.exitCode).toBe(1);
    expect(err.details).toEqual(['x']);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('cannot listen on h:1 for agent: r');
    expect(err.fix).toBe(codes.BRX_ERR_HTTP_LISTEN.fix);
  });

  it('recognises brixlet errors by code, not by class', () => {
    expect(isBrixletError(new BrixletError('BRX_ERR_CLI_USAGE', { reason: 'x' }), 'BRX_ERR_CLI_USAGE')).toBe(true);
    expect(isBrixletError({ code: 'BRX_ERR_CLI_USAGE' })).toBe(true);
    expect(isBrixletError(new BrixletError('BRX_ERR_CLI_USAGE', {}), 'BRX_ERR_CFG_INVALID')).toBe(false);
    expect(isBrixletError({ code: 'ECONNRESET' })).toBe(false);
    expect(isBrixletError(null)).toBe(false);
  });
});
