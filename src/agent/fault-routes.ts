/**
 * The fault-injection API (/v1/faults*): rule CRUD, presets, AIBrix TOML import and the evaluation
 * trace over the agent's one FaultEngine. Off unless --faults.enabled (every route answers 403);
 * when on, every request must carry the bearer token, checked before the body is even read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError } from 'fastify';
import { importAibrixToml, type TomlImportOptions } from '../accel/fault/aibrix-toml.js';
import type { FaultEngine, FaultRuleView as EngineRuleView } from '../accel/fault/engine.js';
import { FAULT_PRESETS, presetRule } from '../accel/fault/presets.js';
import { BrixletError } from '../common/errors.js';
import type { BrixletServer } from '../common/http/create-server.js';
import {
  FaultIdParams,
  FaultRuleInput,
  FaultRuleList,
  FaultRuleView,
  ImportResult,
  PresetBody,
  PresetList,
  PresetParams,
  RemovedRule,
  ResetResult,
  TraceList,
  TraceQuery,
} from './fault-schemas.js';

/** A rule or preset request is a few hundred bytes; this leaves room without inviting abuse. */
export const FAULT_JSON_BODY_LIMIT = 64 * 1024;
/** An AIBrix TOML file for a large node is a few KiB. */
export const FAULT_TOML_BODY_LIMIT = 256 * 1024;

export interface FaultRouteDeps {
  /** Undefined when fault injection is disabled: every route then answers 403. */
  readonly engine?: FaultEngine;
  /** The token every request must present (required with an engine). */
  readonly token?: string;
  readonly maxRules: number;
  /** The agent's body limit: the fault routes never accept more than it. */
  readonly bodyLimit: number;
  /** Maps an AIBrix `[ascend-npus.C.D]` table to a logic id. */
  readonly resolveAscend?: TomlImportOptions['resolveAscend'];
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Constant time in the token's content: both sides are hashed to 32 bytes before comparing. */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
}

export async function registerFaultRoutes(app: BrixletServer, deps: FaultRouteDeps): Promise<void> {
  const jsonLimit = Math.min(deps.bodyLimit, FAULT_JSON_BODY_LIMIT);
  const tomlLimit = Math.min(deps.bodyLimit, FAULT_TOML_BODY_LIMIT);
  const { engine } = deps;
  if (engine !== undefined && (deps.token === undefined || deps.token.length === 0)) throw new Error('fault routes need a token with an engine');
  const expected = digest(deps.token ?? '');

  await app.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.addHook('onRequest', async (request) => {
      if (engine === undefined) throw new BrixletError('BRX_ERR_FAULT_DISABLED');
      if (!bearerMatches(request.headers.authorization, expected)) throw new BrixletError('BRX_ERR_FAULT_UNAUTHORIZED');
    });
    // The shared handler would quote the agent-wide limit; these routes have their own.
    scope.setErrorHandler(async (err: FastifyError, request) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        throw new BrixletError('BRX_ERR_HTTP_BODY_TOO_LARGE', { limit: request.url.startsWith('/v1/faults/import') ? tomlLimit : jsonLimit });
      }
      throw err;
    });
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser(['text/plain', 'application/toml'], { parseAs: 'string', bodyLimit: tomlLimit }, (_request, body, done) => done(null, body));

    const live = (): FaultEngine => engine!;
    const view = (id: string) => ruleView(live().get(id) ?? notFound(id));

    scope.post(
      '/v1/faults',
      { bodyLimit: jsonLimit, schema: { summary: 'Add a fault rule (id assigned when left out).', body: FaultRuleInput, response: { 201: FaultRuleView } } },
      async (request, reply) => {
        const rule = live().add(request.body);
        return reply.code(201).send(view(rule.id));
      },
    );
    scope.get('/v1/faults', { schema: { summary: 'Active fault rules with their trigger state.', response: { 200: FaultRuleList } } }, async () => ({
      rules: live().list().map(ruleView),
      limit: deps.maxRules,
      generation: live().generation,
    }));
    scope.delete(
      '/v1/faults/:id',
      { schema: { summary: 'Remove one fault rule.', params: FaultIdParams, response: { 200: RemovedRule } } },
      async (request) => {
        const removed = view(request.params.id);
        live().remove(request.params.id);
        return { removed };
      },
    );
    scope.post('/v1/faults/reset', { bodyLimit: jsonLimit, schema: { summary: 'Remove every fault rule.', response: { 200: ResetResult } } }, async () => ({
      removed: live().reset(),
    }));
    scope.get('/v1/faults/presets', { schema: { summary: 'Named faults (gpu-lost, ecc-dbe, …) and what each does.', response: { 200: PresetList } } }, async () => ({
      presets: [...FAULT_PRESETS.values()].map((p) => ({
        name: p.name,
        vendor: p.vendor,
        scope: p.scope,
        description: p.description,
        ...(p.params !== undefined && { params: { ...p.params } }),
      })),
    }));
    scope.post(
      '/v1/faults/presets/:name',
      {
        bodyLimit: jsonLimit,
        schema: {
          summary: 'Apply a preset to a target ({"target": {"device": 3}}); applying it again to the same target replaces it.',
          params: PresetParams,
          body: PresetBody,
          response: { 201: FaultRuleView },
        },
      },
      async (request, reply) => {
        const rule = live().add(presetRule(request.params.name, request.body ?? {}), { replace: true });
        return reply.code(201).send(view(rule.id));
      },
    );
    scope.post(
      '/v1/faults/import',
      {
        bodyLimit: tomlLimit,
        schema: {
          summary: 'Import an AIBrix gpu_mock_conf.toml (0.1.0, 0.2.0) sent as application/toml or text/plain: one rule per key; unusable keys come back as problems.',
          consumes: ['application/toml', 'text/plain'],
          body: Type.String({ maxLength: FAULT_TOML_BODY_LIMIT, description: 'The TOML text.' }),
          response: { 201: ImportResult },
        },
      },
      async (request, reply) => {
        const imported = importAibrixToml(request.body, deps.resolveAscend !== undefined ? { resolveAscend: deps.resolveAscend } : {});
        // Re-importing the same file replaces its rules (ids come from the key paths).
        const added = live().addAll(imported.rules, { replace: true });
        return reply.code(201).send({
          ...(imported.version !== undefined && { version: imported.version }),
          added: added.map((r) => view(r.id)),
          problems: imported.problems,
        });
      },
    );
    scope.get('/v1/faults/trace', { schema: { summary: 'The last evaluations of rules against calls (rule, call, roll, applied).', querystring: TraceQuery, response: { 200: TraceList } } }, async (request) => ({
      entries: live().trace(request.query.limit),
    }));
  });
}

/** The engine's rule as the response schema types it (fault codes are always numbers here). */
function ruleView(v: EngineRuleView): Static<typeof FaultRuleView> {
  const { faultCodes, ...effect } = v.effect;
  return { ...v, vendors: [...v.vendors], effect: { ...effect, ...(faultCodes !== undefined && { faultCodes: [...faultCodes] }) } };
}

function notFound(id: string): never {
  throw new BrixletError('BRX_ERR_FAULT_NOT_FOUND', { kind: 'rule', id });
}
