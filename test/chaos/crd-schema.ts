// Validates objects against the real CRDs in ../shared/testdata/crds with the product's validator
// (src/kube/crd-schema.ts: OpenAPI → JSON Schema, ajv, objects closed as with fieldValidation=Strict).
// This file only locates the test data and keeps one compiled validator per kind.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCrd, type CompiledCrd } from '../../src/kube/crd-schema.js';
import { repoRoot } from '../helpers/repo.js';

export { createCrdAjv, toJsonSchema } from '../../src/kube/crd-schema.js';

export const CRD_DIR = join(process.env.BRIXLET_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'), 'crds');
export const HAVE_CRDS = existsSync(join(CRD_DIR, 'chaos-mesh.org_podchaos.yaml'));
export const SKIP_REASON = HAVE_CRDS ? '' : ` (SKIPPED: ${CRD_DIR} not found; set BRIXLET_TESTDATA)`;

const FILES: Record<string, string> = {
  PodChaos: 'chaos-mesh.org_podchaos.yaml',
  NetworkChaos: 'chaos-mesh.org_networkchaos.yaml',
  StressChaos: 'chaos-mesh.org_stresschaos.yaml',
  IOChaos: 'chaos-mesh.org_iochaos.yaml',
  Schedule: 'chaos-mesh.org_schedules.yaml',
  RayCluster: 'ray.io_rayclusters.yaml',
  LeaderWorkerSet: 'leaderworkerset.x-k8s.io_leaderworkersets.yaml',
};

const compiled = new Map<string, CompiledCrd>();

/** Whether the test data holds the CRD of `kind`. */
export function haveCrd(kind: string): boolean {
  const file = FILES[kind];
  return file !== undefined && existsSync(join(CRD_DIR, file));
}

/** The compiled validator of a kind's storage version (compiled on first use: Schedule's schema is 850 kB). */
export function crdValidator(kind: string): CompiledCrd {
  let v = compiled.get(kind);
  if (v) return v;
  const file = FILES[kind];
  if (file === undefined) throw new Error(`no CRD for ${kind}`);
  v = compileCrd(readFileSync(join(CRD_DIR, file), 'utf8'));
  if (v.kind !== kind) throw new Error(`${file} defines ${v.kind}, not ${kind}`);
  compiled.set(kind, v);
  return v;
}

/** The CRD's verdict: [] when valid, else `path keyword message params` lines. */
export function crdErrors(obj: { kind?: unknown }): string[] {
  return crdValidator(String(obj.kind)).validate(obj);
}
