/**
 * The HTTP side of `brixlet fault`: one request to the agent's /v1/faults API with the bearer
 * token. An answer with an error body is the agent refusing (exit 1); no answer, or one that is
 * not the fault API's JSON, means the command could not run (exit 2).
 */
import { usage } from '../args.js';
import { readFile } from 'node:fs/promises';
import { BrixletError } from '../../common/errors.js';

const TIMEOUT_MS = 15_000;

export interface AgentRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export type FaultReply<T> = { readonly ok: true; readonly body: T } | { readonly ok: false; readonly error: AgentRefusal };

export interface FaultClient {
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: { json: unknown } | { toml: string }): Promise<FaultReply<T>>;
}


export async function readTokenFile(path: string | undefined): Promise<string> {
  if (path === undefined) throw usage('--token-file FILE is required: the file holding the agent\'s --faults.token-file token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token === '') throw usage(`the token file ${path} is empty`);
    return token;
  } catch (err) {
    if (err instanceof BrixletError) throw err;
    throw usage(`cannot read the token file ${path}: ${(err as Error).message}`);
  }
}

export function createFaultClient(agent: string, token: string): FaultClient {
  let base: URL;
  try {
    base = new URL(agent.endsWith('/') ? agent : `${agent}/`);
  } catch {
    throw usage(`--agent must be a URL such as http://gpu-node-1:9464, got '${agent}'`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usage(`--agent must be an http(s) URL, got '${agent}'`);

  return {
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: { json: unknown } | { toml: string }): Promise<FaultReply<T>> {
      const url = new URL(path.replace(/^\//, ''), base);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      let payload: string | undefined;
      if (body !== undefined && 'json' in body) {
        headers['content-type'] = 'application/json';
        payload = JSON.stringify(body.json);
      } else if (body !== undefined) {
        headers['content-type'] = 'application/toml';
        payload = body.toml;
      }
      const unreachable = (reason: string) => new BrixletError('BRX_ERR_FAULT_AGENT', { url: url.href, reason });
      let res: Response;
      try {
        res = await fetch(url, { method, headers, ...(payload !== undefined && { body: payload }), signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string; message?: string } };
        throw unreachable(e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.message));
      }
      const text = await res.text().catch(() => '');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw unreachable(`HTTP ${res.status}, not JSON${text ? `: ${text.slice(0, 120)}` : ''}`);
      }
      if (res.ok) return { ok: true, body: parsed as T };
      const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof error?.code !== 'string') throw unreachable(`HTTP ${res.status} without an error code (is this a brixlet agent?)`);
      return { ok: false, error: { status: res.status, code: error.code, message: typeof error.message === 'string' ? error.message : '' } };
    },
  };
}
