/** Binds a server and turns bind failures into BRX_ERR_HTTP_LISTEN naming the port and the flag to change. */
import type { AddressInfo } from 'node:net';
import { BrixletError } from '../errors.js';
import type { BrixletServer } from './create-server.js';

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Listener name for the message (`agent`, `gateway`, `control`). */
  readonly server: string;
  /** The flag that sets this port, named in the error. */
  readonly flag: string;
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this host',
};

/** Listens and returns the URL clients should use (wildcard binds are shown as loopback). */
export async function listen(app: BrixletServer, options: ListenOptions): Promise<string> {
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const reason = `${REASONS[code] ?? (err as Error).message}; change it with ${options.flag}`;
    throw new BrixletError('BRX_ERR_HTTP_LISTEN', { host: options.host, port: options.port, server: options.server, reason }, { cause: err });
  }
  const address = app.server.address() as AddressInfo;
  return urlFor(options.host, address.port);
}

export function urlFor(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
