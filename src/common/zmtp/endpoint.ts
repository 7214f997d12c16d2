/**
 * ZMQ endpoint strings: `tcp://host:port`, `tcp://*:port` (bind on every interface), `tcp://[::1]:port`
 * and `ipc:///path` (a unix socket). Port 0 binds a free port; the bound endpoint says which.
 */
import { BrixletError } from '../errors.js';

export type Endpoint = { readonly kind: 'tcp'; readonly host: string | undefined; readonly port: number } | { readonly kind: 'ipc'; readonly path: string };

export class EndpointError extends BrixletError {
  constructor(endpoint: string, reason: string) {
    super('BRX_ERR_ZMTP_ENDPOINT', { endpoint: JSON.stringify(endpoint), reason });
  }
}

export function parseEndpoint(endpoint: string): Endpoint {
  if (endpoint.startsWith('ipc://')) {
    const path = endpoint.slice(6);
    if (path === '' || path.includes('\0')) throw new EndpointError(endpoint, 'empty or invalid path');
    return { kind: 'ipc', path };
  }
  if (!endpoint.startsWith('tcp://')) throw new EndpointError(endpoint, 'only tcp:// and ipc:// are supported');
  const rest = endpoint.slice(6);
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(rest);
  if (m === null) throw new EndpointError(endpoint, 'expected tcp://host:port');
  const port = Number(m[2]);
  if (port > 65535) throw new EndpointError(endpoint, 'port out of range');
  let host: string | undefined = m[1]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '*') host = undefined;
  return { kind: 'tcp', host, port };
}

export function formatEndpoint(e: Endpoint): string {
  if (e.kind === 'ipc') return `ipc://${e.path}`;
  const host = e.host === undefined ? '*' : e.host.includes(':') ? `[${e.host}]` : e.host;
  return `tcp://${host}:${e.port}`;
}
