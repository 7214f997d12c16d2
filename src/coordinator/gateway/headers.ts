/**
 * Which headers cross the gateway. End-to-end headers (authorization, content-type, the client's
 * own x- headers) pass both ways; hop-by-hop ones (RFC 9110 §7.6.1, plus any the Connection header
 * names) stay on their hop, and framing headers are recomputed by whoever writes the next body.
 */
import type { OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Recomputed for the next hop.
  'content-length',
  'host',
  'expect',
]);

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // The common values name no header: answer them without splitting.
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const tokens = (Array.isArray(value) ? value.join(',') : value).split(',').map((t) => t.trim().toLowerCase());
  const named = tokens.filter((t) => t !== '' && t !== 'close' && t !== 'keep-alive');
  return named.length > 0 ? new Set(named) : undefined;
}

/**
 * The request headers to send to the engine, as undici's flat [name, value, …] list built from the
 * client's raw headers (original case and order kept), plus `extra` pairs.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | undefined, extra: readonly string[]): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) === true) continue;
    if (lower === 'x-request-id') continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  for (const v of extra) out.push(v);
  return out;
}

export interface ResponseHeaders {
  /**
   * Lower-case name → value (an array for repeated headers), for ServerResponse.writeHead: with no
   * header set before, Node.js writes such an object as it is, without a per-header set.
   */
  readonly headers: OutgoingHttpHeaders;
  /** The content type is text/event-stream: the answer is streamed through as it comes. */
  readonly eventStream: boolean;
}

/** The engine's raw response headers (undici's [name, value, …] buffers) to pass to the client. */
export function clientResponseHeaders(raw: readonly Buffer[]): ResponseHeaders {
  const headers: OutgoingHttpHeaders = {};
  let eventStream = false;
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'content-type') eventStream = value.startsWith('text/event-stream');
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  const named = connectionTokens(connection);
  if (named !== undefined) for (const n of named) delete headers[n];
  return { headers, eventStream };
}
