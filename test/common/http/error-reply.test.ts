import { describe, expect, it } from 'vitest';
import { BrixletError } from '../../../src/common/errors.js';
import { mapError } from '../../../src/common/http/error-reply.js';

const req = { method: 'POST', url: '/v1/x' };

describe('mapError', () => {
  it('keeps brixlet errors, with details when present', () => {
    const m = mapError(new BrixletError('BRX_ERR_CFG_INVALID', { count: 1 }, { details: [{ key: 'a' }] }), req, 10);
    expect(m.statusCode).toBe(500);
    expect(m.serverFault).toBe(true);
    expect(m.body.error).toMatchObject({ code: 'BRX_ERR_CFG_INVALID', type: 'server_error', details: [{ key: 'a' }] });
  });

  it('treats 503 as expected, not a server fault', () => {
    expect(mapError(new BrixletError('BRX_ERR_HTTP_NOT_READY', { server: 's', reason: 'r' }), req, 10).serverFault).toBe(false);
  });

  it('maps fastify codes and other 4xx', () => {
    expect(mapError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'x' }, req, 99).body.error.message).toBe(
      'request body exceeds the limit of 99 bytes',
    );
    const media = mapError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415, message: 'Unsupported Media Type: text/csv' }, req, 1);
    expect(media.body.error.message).toBe('unsupported content type text/csv');
    const teapot = mapError({ statusCode: 418, message: 'short and stout' }, req, 1);
    expect(teapot.statusCode).toBe(418);
    expect(teapot.body.error.code).toBe('BRX_ERR_HTTP_BAD_REQUEST');
  });

  it('turns anything else into an internal error without its message', () => {
    const m = mapError(new Error('db password is hunter2'), req, 1);
    expect(m.statusCode).toBe(500);
    expect(JSON.stringify(m.body)).not.toContain('hunter2');
  });
});
