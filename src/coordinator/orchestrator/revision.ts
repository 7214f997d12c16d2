/**
 * The template revision of a fleet and the names of its replicas. The revision hashes only the
 * fields that change what the pods run (not replicas, rollout or restart budget, and not the nodes
 * to avoid), independent of key order, so an unchanged template always gives the same revision and
 * scaling never looks like an upgrade.
 */
import { createHash } from 'node:crypto';
import type { ModelFleetSpec } from './types.js';

/** Characters of a revision: 10 of [a-z0-9] (36^10 ≈ 3.7e15 values). */
export const REVISION_LENGTH = 10;
/** Characters of a replica suffix. */
export const SUFFIX_LENGTH = 5;
/** Kubernetes label values and RFC 1035 labels stop at 63 characters. */
export const MAX_NAME = 63;
/** Consonants and digits that cannot spell words or be confused (no vowels, no 0/1/3). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The fields that do not change the pods: a change to them alone is no new revision. */
const NOT_TEMPLATE = new Set<keyof ModelFleetSpec>(['replicas', 'rollout', 'restartBudget']);

/** JSON with object keys sorted at every level (array order kept: it is meaningful in args and env). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A 10-character [a-z0-9] hash of the pod template fields of a spec (after defaults). */
export function templateRevision(spec: ModelFleetSpec): string {
  const template = Object.fromEntries(Object.entries(spec).filter(([k]) => !NOT_TEMPLATE.has(k as keyof ModelFleetSpec)));
  return base36(createHash('sha256').update(canonicalJson(template)).digest(), REVISION_LENGTH);
}

function base36(bytes: Buffer, length: number): string {
  // 8 bytes give 64 bits ≈ 12.4 base-36 digits: enough for 10 without a bias worth naming.
  return bytes.readBigUInt64BE(0).toString(36).padStart(13, '0').slice(-length);
}

/**
 * `<fleet>-<revision>-<suffix>` within 63 characters: the fleet name is cut (and any `-` it then
 * ends with dropped) so that revision and suffix always survive.
 */
export function replicaName(fleet: string | { readonly name: string }, revision: string, suffix: string): string {
  const name = typeof fleet === 'string' ? fleet : fleet.name;
  const room = MAX_NAME - revision.length - suffix.length - 2;
  const base = name.length > room ? name.slice(0, room).replace(/-+$/, '') : name;
  return `${base}-${revision}-${suffix}`;
}

/** A random replica suffix (5 characters of an alphabet that spells no words). */
export function randomSuffix(random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) s += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)] ?? 'b';
  return s;
}

/** The suffix of replica `index` when rendering offline: the same every time for the same fleet and revision. */
export function renderSuffix(fleet: string, revision: string, index: number): string {
  const digest = createHash('sha256').update(`${fleet}/${revision}/${index}`).digest();
  let s = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) s += SUFFIX_ALPHABET[(digest[i] ?? 0) % SUFFIX_ALPHABET.length];
  return s;
}
