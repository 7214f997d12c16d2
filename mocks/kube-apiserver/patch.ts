/**
 * The two patch formats custom resources accept: JSON merge patch (RFC 7386) and JSON patch
 * (RFC 6902). Both are pure and never mutate their inputs.
 */
import { ApiStatusError } from './api-status.js';

type Json = unknown;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

interface Operation {
  readonly op: string;
  readonly path: string;
  readonly from?: string;
  readonly value?: unknown;
}

function bad(message: string): ApiStatusError {
  return new ApiStatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

/** The tokens of a JSON pointer (RFC 6901), unescaped; `` is the whole document. */
export function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw bad(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

/** Resolves the parent of the pointer's last token; `root` is a holder so "" can be replaced. */
function parentOf(root: { doc: unknown }, tokens: string[]): [Container, string] {
  let cur: unknown = root;
  const path = ['doc', ...tokens];
  for (const token of path.slice(0, -1)) {
    const next: unknown = Array.isArray(cur) ? cur[Number(token)] : (cur as Record<string, unknown>)[token];
    if (next === null || typeof next !== 'object') throw bad(`path "/${tokens.join('/')}" does not exist`);
    cur = next;
  }
  return [cur as Container, path[path.length - 1] ?? ''];
}

function arrayIndex(arr: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  const i = Number(token);
  if (!/^(0|[1-9]\d*)$/.test(token) || i > arr.length || (!forInsert && i === arr.length)) throw bad(`bad array index "${token}"`);
  return i;
}

function get(root: { doc: unknown }, path: string): unknown {
  const [parent, key] = parentOf(root, pointer(path));
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, key, false)] : parent[key];
  if (value === undefined && !(Array.isArray(parent) || key in parent)) throw bad(`path "${path}" does not exist`);
  return value;
}

function remove(root: { doc: unknown }, path: string): unknown {
  const [parent, key] = parentOf(root, pointer(path));
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false), 1)[0];
  if (!(key in parent)) throw bad(`path "${path}" does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function add(root: { doc: unknown }, path: string, value: unknown): void {
  const [parent, key] = parentOf(root, pointer(path));
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else parent[key] = value;
}

export function applyJsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw bad('a JSON patch must be an array of operations');
  const root = { doc: structuredClone(target) };
  for (const raw of ops as Operation[]) {
    if (!isObject(raw) || typeof raw.path !== 'string') throw bad('each operation needs "op" and "path"');
    switch (raw.op) {
      case 'add':
        add(root, raw.path, structuredClone(raw.value));
        break;
      case 'remove':
        remove(root, raw.path);
        break;
      case 'replace':
        remove(root, raw.path);
        add(root, raw.path, structuredClone(raw.value));
        break;
      case 'move':
        add(root, raw.path, remove(root, String(raw.from)));
        break;
      case 'copy':
        add(root, raw.path, structuredClone(get(root, String(raw.from))));
        break;
      case 'test':
        if (JSON.stringify(get(root, raw.path)) !== JSON.stringify(raw.value)) throw bad(`test failed at "${raw.path}"`);
        break;
      default:
        throw bad(`unknown operation "${String(raw.op)}"`);
    }
  }
  return root.doc;
}
