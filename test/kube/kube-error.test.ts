import { describe, expect, it } from 'vitest';
import { KubeError, codeForStatus, toKubeError } from '../../src/kube/kube-error.js';

describe('toKubeError', () => {
  it('maps HTTP statuses to codes', () => {
    expect([401, 403, 404, 409, 400, 422, 410, 500, 503, undefined].map(codeForStatus)).toEqual([
      'BRX_ERR_KUBE_UNAUTHORIZED',
      'BRX_ERR_KUBE_UNAUTHORIZED',
      'BRX_ERR_KUBE_NOT_FOUND',
      'BRX_ERR_KUBE_CONFLICT',
      'BRX_ERR_KUBE_INVALID',
      'BRX_ERR_KUBE_INVALID',
      'BRX_ERR_KUBE_API',
      'BRX_ERR_KUBE_API',
      'BRX_ERR_KUBE_API',
      'BRX_ERR_KUBE_API',
    ]);
  });

  it('reads status, reason and message from an ApiException-like error with a JSON string body', () => {
    const cause = Object.assign(new Error('HTTP-Code: 409'), { code: 409, body: JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'x "a" already exists' }) });
    const err = toKubeError(cause, 'create x default/a');
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ code: 'BRX_ERR_KUBE_CONFLICT', status: 409, reason: 'AlreadyExists', message: 'create x default/a: x "a" already exists' });
    expect(err.cause).toBe(cause);
  });

  it('handles a watch error (statusCode), a bodiless 401 and a network error', () => {
    expect(toKubeError(Object.assign(new Error('Gone'), { statusCode: 410 }), 'watch').status).toBe(410);
    expect(toKubeError(Object.assign(new Error('x'), { code: 401 }), 'get')).toMatchObject({ code: 'BRX_ERR_KUBE_UNAUTHORIZED', message: 'get: HTTP 401' });
    const net = toKubeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'list');
    expect(net).toMatchObject({ code: 'BRX_ERR_KUBE_API', status: undefined, message: 'list: connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('passes a KubeError through unchanged', () => {
    const e = new KubeError('BRX_ERR_KUBE_CONFIG', 'x');
    expect(toKubeError(e, 'y')).toBe(e);
  });
});
