/**
 * `?watch=true`: newline-delimited JSON events on a chunked 200 response. From a resourceVersion
 * the history is replayed first; without one (or "0") the current objects arrive as ADDED. A
 * resourceVersion older than the history gets the real server's answer: an ERROR event carrying
 * a 410 Expired Status (or, with `expiredWatch: 'http'`, a plain 410 response).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiStatusError, statusObject } from './api-status.js';
import type { ResourceStore, StoreEvent, StoredObject, WatchEventType } from './resource-store.js';
import type { ObjectMatcher } from './selectors.js';

export interface WatchRequest {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly resourceVersion: string | null;
  readonly match: ObjectMatcher;
  readonly timeoutSeconds: number | undefined;
  readonly expired: 'event' | 'http';
}

/** Open watch responses, so tests can drop them and close() can end them. */
export type WatchRegistry = Set<ServerResponse>;

function inScope(req: WatchRequest, obj: StoredObject): boolean {
  return req.namespace === undefined || obj.metadata.namespace === req.namespace;
}

/** What a watcher with a selector sees: objects moving in or out of the selection are ADDED/DELETED. */
function visible(req: WatchRequest, event: StoreEvent): WatchEventType | undefined {
  if (event.resource !== req.resource || !inScope(req, event.object)) return undefined;
  const now = req.match(event.object);
  if (event.type !== 'MODIFIED' || !event.previous) return now ? event.type : undefined;
  const before = req.match(event.previous);
  if (before && now) return 'MODIFIED';
  if (before) return 'DELETED';
  return now ? 'ADDED' : undefined;
}

export function serveWatch(store: ResourceStore, req: WatchRequest, httpReq: IncomingMessage, res: ServerResponse, registry: WatchRegistry): void {
  const from = req.resourceVersion && req.resourceVersion !== '0' ? Number(req.resourceVersion) : undefined;
  if (from !== undefined && !Number.isInteger(from)) {
    throw new ApiStatusError(400, 'BadRequest', `invalid resource version: ${req.resourceVersion}`);
  }
  const expired = from !== undefined && from < store.oldestWatchable;
  if (expired && req.expired === 'http') {
    throw new ApiStatusError(410, 'Expired', `too old resource version: ${from} (${store.oldestWatchable})`);
  }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  // Without an early flush the client's fetch never resolves until the first event.
  res.flushHeaders();
  const send = (type: string, object: unknown): void => {
    if (res.writableEnded || res.destroyed) return; // dropped by a test, 'close' not yet delivered
    res.write(JSON.stringify({ type, object }) + '\n');
  };
  if (expired) {
    send('ERROR', statusObject(410, 'Expired', `too old resource version: ${from} (${store.oldestWatchable})`));
    res.end();
    return;
  }
  if (from === undefined) {
    for (const obj of store.list(req.resource, req.namespace)) if (req.match(obj)) send('ADDED', obj);
  } else {
    for (const event of store.eventsSince(from)) {
      const type = visible(req, event);
      if (type) send(type, event.object);
    }
  }
  const unsubscribe = store.subscribe((event) => {
    const type = visible(req, event);
    if (type) send(type, event.object);
  });
  registry.add(res);
  const timer = req.timeoutSeconds ? setTimeout(() => res.end(), req.timeoutSeconds * 1000) : undefined;
  const cleanup = (): void => {
    unsubscribe();
    registry.delete(res);
    clearTimeout(timer);
  };
  res.on('close', cleanup);
  httpReq.on('close', cleanup);
}
