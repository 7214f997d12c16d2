/**
 * One request through the fake API server: bearer-token check, injected failures, discovery,
 * then list/watch/get/create/update/patch/delete on a resource or its status/scale subresource.
 * Every failure leaves as a Kubernetes Status object.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiStatusError, statusObject, type StatusReason } from './api-status.js';
import type { FieldValidation, ObjectCheck } from './crd-validation.js';
import { discoveryDocument } from './discovery.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { groupVersion, type ResourceDefinition, type ResourceStore, type StoredObject } from './resource-store.js';
import { parseRoute, type ResourceRoute } from './routes.js';
import { parseScale, toScale } from './scale.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { serveWatch, type WatchRegistry } from './watch-stream.js';

/** A request the fake server saw (tests assert methods, paths and content types). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly contentType: string | undefined;
}

/** A failure the next matching request(s) get instead of being served. */
export interface InjectedFailure {
  readonly method?: string;
  /** Substring of, or pattern for, the request path (without query). */
  readonly path?: string | RegExp;
  readonly status: number;
  readonly reason?: StatusReason;
  readonly message?: string;
  /** How many requests fail; default 1. */
  times?: number;
}

/** Who a token is, as a TokenReview answers it (registered with the server's addTokenReview). */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  /** e.g. `authentication.kubernetes.io/pod-name`, `…/pod-uid`, `…/node-name` for pod-bound tokens. */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  /** The token's audiences; default the API server's own (API_SERVER_AUDIENCE). */
  readonly audiences?: readonly string[];
}

/** The audience of ordinary ServiceAccount tokens, what a review without spec.audiences checks against. */
export const API_SERVER_AUDIENCE = 'https://kubernetes.default.svc';

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export interface HandlerContext {
  readonly store: ResourceStore;
  /** Tokens a TokenReview authenticates; any other token is answered authenticated: false. */
  readonly reviews: Map<string, ReviewedUser>;
  readonly token: string;
  readonly watches: WatchRegistry;
  readonly failures: InjectedFailure[];
  readonly requests: RecordedRequest[];
  readonly expiredWatch: 'event' | 'http';
  /** With validateCustomResources: the check of one write of a CRD-backed kind (undefined: not validated). */
  readonly validate?: (def: ResourceDefinition, fieldValidation: FieldValidation, warn: (text: string) => void) => ObjectCheck | undefined;
}

const BODY_LIMIT = 3 * 1024 * 1024; // the real server's request size limit
const REQUEST_LOG_LIMIT = 1000;

const PATCH_TYPES = ['application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function authorized(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header ?? '');
  const want = Buffer.from(`Bearer ${token}`);
  return got.length === want.length && timingSafeEqual(got, want);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new ApiStatusError(413, 'RequestEntityTooLarge', 'the request is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): StoredObject {
  try {
    return JSON.parse(text) as StoredObject;
  } catch (err) {
    throw new ApiStatusError(400, 'BadRequest', `the body of the request was not valid JSON: ${(err as Error).message}`);
  }
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function takeFailure(ctx: HandlerContext, method: string, path: string): InjectedFailure | undefined {
  const i = ctx.failures.findIndex(
    (f) => (!f.method || f.method.toUpperCase() === method) && (!f.path || (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path))),
  );
  const f = ctx.failures[i];
  if (!f) return undefined;
  f.times = (f.times ?? 1) - 1;
  if (f.times <= 0) ctx.failures.splice(i, 1);
  return f;
}

function applyPatch(existing: StoredObject, body: string, type: string, route: ResourceRoute): StoredObject {
  if (type === 'application/json-patch+json') return applyJsonPatch(existing, parseJson(body)) as StoredObject;
  if (type === 'application/strategic-merge-patch+json' && route.def.group) {
    throw new ApiStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
  }
  // Strategic merge on core kinds is approximated by a merge patch (list merge keys are not modelled).
  return applyMergePatch(existing, type === 'application/apply-patch+yaml' ? (parseYaml(body) as unknown) : parseJson(body)) as StoredObject;
}

async function serveResource(ctx: HandlerContext, route: ResourceRoute, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { store } = ctx;
  const { id, def, namespace, name, subresource } = route;
  const method = req.method ?? 'GET';
  const params = url.searchParams;
  if (subresource && !((subresource === 'status' && def.status) || (subresource === 'scale' && def.scale))) {
    throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const warnings: string[] = [];
  const fieldValidation = (['Strict', 'Warn', 'Ignore'] as const).find((v) => v === params.get('fieldValidation')) ?? 'Warn';
  const check =
    method === 'POST' || method === 'PUT' || method === 'PATCH'
      ? ctx.validate?.(def, fieldValidation, (text) => {
          warnings.push(`299 - ${JSON.stringify(text)}`);
          res.setHeader('Warning', warnings);
        })
      : undefined;
  if (name === undefined) {
    if (method === 'GET') {
      const label = parseLabelSelector(params.get('labelSelector'));
      const field = parseFieldSelector(params.get('fieldSelector'));
      const match = (o: unknown): boolean => label(o) && field(o);
      if (params.get('watch') === 'true' || params.get('watch') === '1') {
        const timeout = params.get('timeoutSeconds');
        serveWatch(store, { resource: id, namespace, resourceVersion: params.get('resourceVersion'), match, timeoutSeconds: timeout ? Number(timeout) : undefined, expired: ctx.expiredWatch }, req, res, ctx.watches);
        return;
      }
      const items = store.list(id, namespace).filter(match);
      send(res, 200, { apiVersion: groupVersion(def), kind: def.listKind ?? `${def.kind}List`, metadata: { resourceVersion: String(store.revision) }, items });
      return;
    }
    if (method === 'POST' && (namespace !== undefined || !def.namespaced)) {
      send(res, 201, store.create(id, namespace, parseJson(await readBody(req)), check));
      return;
    }
    throw new ApiStatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  }
  const current = (): StoredObject => {
    const obj = store.get(id, namespace, name);
    if (!obj) throw store.notFound(def, name);
    return obj;
  };
  const part = subresource === 'status' ? 'status' : 'main';
  switch (method) {
    case 'GET':
      send(res, 200, subresource === 'scale' && def.scale ? toScale(current(), def.scale) : current());
      return;
    case 'PUT': {
      const body = parseJson(await readBody(req));
      if (subresource === 'scale' && def.scale) {
        send(res, 200, toScale(store.update(id, namespace, name, parseScale(current(), body, def.scale), 'main', check), def.scale));
      } else send(res, 200, store.update(id, namespace, name, body, part, check));
      return;
    }
    case 'PATCH': {
      const type = mediaType(req);
      if (!PATCH_TYPES.includes(type)) throw new ApiStatusError(415, 'UnsupportedMediaType', `unsupported patch type "${type}"`);
      const body = await readBody(req);
      if (type === 'application/apply-patch+yaml') {
        if (!params.get('fieldManager')) throw new ApiStatusError(422, 'Invalid', 'fieldManager is required for apply requests');
        if (!store.get(id, namespace, name)) {
          send(res, 201, store.create(id, namespace, { ...(parseYaml(body) as StoredObject) }, check));
          return;
        }
      }
      if (subresource === 'scale' && def.scale) {
        const existing = current();
        const patched = applyPatch(toScale(existing, def.scale) as StoredObject, body, type, route);
        send(res, 200, toScale(store.update(id, namespace, name, parseScale(existing, patched, def.scale), 'main', check), def.scale));
        return;
      }
      send(res, 200, store.update(id, namespace, name, applyPatch(current(), body, type, route), part, check));
      return;
    }
    case 'DELETE': {
      if (subresource) break;
      // DeleteOptions arrive as query parameters or as a body; only propagationPolicy is honoured.
      const text = await readBody(req);
      const options = text.trim() ? (parseJson(text) as { propagationPolicy?: unknown; orphanDependents?: unknown }) : {};
      const policy = params.get('propagationPolicy') ?? (typeof options.propagationPolicy === 'string' ? options.propagationPolicy : undefined);
      const orphan = params.get('orphanDependents') === 'true' || options.orphanDependents === true;
      send(res, 200, store.remove(id, namespace, name, { propagationPolicy: orphan ? 'Orphan' : (policy ?? undefined) }));
      return;
    }
  }
  throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** POST tokenreviews: the real server's answer shape (201, status.authenticated, status.user). */
async function serveTokenReview(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = parseJson(await readBody(req)) as StoredObject & { spec?: { token?: unknown; audiences?: unknown } };
  const token = body.spec?.token;
  if (typeof token !== 'string' || token === '') throw new ApiStatusError(422, 'Invalid', 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value');
  const user = ctx.reviews.get(token);
  // As the real server: the token must be valid for one of the requested audiences (default its own).
  const wanted = Array.isArray(body.spec?.audiences) && body.spec.audiences.length > 0 ? (body.spec.audiences as string[]) : [API_SERVER_AUDIENCE];
  const audiences = (user?.audiences ?? [API_SERVER_AUDIENCE]).filter((a) => wanted.includes(a));
  const status =
    user === undefined
      ? { authenticated: false, error: '[invalid bearer token, service account token has been invalidated]' }
      : audiences.length === 0
        ? { authenticated: false, error: `[invalid bearer token, token audiences ${JSON.stringify(user.audiences ?? [API_SERVER_AUDIENCE])} is invalid for the target audiences ${JSON.stringify(wanted)}]` }
        : { authenticated: true, user: { username: user.username, ...(user.uid !== undefined && { uid: user.uid }), groups: [...(user.groups ?? [])], ...(user.extra !== undefined && { extra: user.extra }) }, audiences };
  send(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: body.spec, status });
}

export async function handleRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://fake');
  const method = (req.method ?? 'GET').toUpperCase();
  ctx.requests.push({ method, path: url.pathname, query: url.search.slice(1), contentType: req.headers['content-type'] });
  if (ctx.requests.length > REQUEST_LOG_LIMIT) ctx.requests.shift();
  try {
    if (!authorized(req.headers.authorization, ctx.token)) throw new ApiStatusError(401, 'Unauthorized', 'Unauthorized');
    const failure = takeFailure(ctx, method, url.pathname);
    if (failure) {
      send(res, failure.status, statusObject(failure.status, failure.reason ?? 'InternalError', failure.message ?? `injected failure ${failure.status}`));
      return;
    }
    if (url.pathname === TOKEN_REVIEW_PATH) {
      if (method !== 'POST') throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      await serveTokenReview(ctx, req, res);
      return;
    }
    const route = parseRoute(ctx.store, url.pathname);
    if (route && 'discovery' in route) {
      const doc = method === 'GET' ? discoveryDocument(ctx.store, route) : undefined;
      if (!doc) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
      send(res, 200, doc);
      return;
    }
    if (!route) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    await serveResource(ctx, route, req, res, url);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = err instanceof ApiStatusError ? err.toStatus() : statusObject(500, 'InternalError', `fake API server bug: ${(err as Error).message}`);
    send(res, Number(status.code), status);
  }
}
