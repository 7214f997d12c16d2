/**
 * What every builder starts from: apiVersion/kind/metadata and the selection fields Chaos Mesh
 * inlines into each experiment's spec.
 */
import type { ObjectMeta } from '../kube/types.js';
import { CHAOS_API_VERSION, type ChaosKind } from './chaos-kinds.js';
import type { PodSelectorSpec, SelectorMode } from './chaos-schema.js';

/** Marks objects brixlet created, so they can be listed and cleaned up by label. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export interface MetadataInput {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface SelectionInput {
  readonly selector: PodSelectorSpec;
  readonly mode?: SelectorMode;
  readonly value?: number | string;
}

export function chaosMetadata(input: MetadataInput): ObjectMeta {
  const meta: ObjectMeta = { name: input.name, labels: { ...input.labels, [MANAGED_BY_LABEL]: 'brixlet' } };
  if (input.namespace !== undefined) meta.namespace = input.namespace;
  if (input.annotations !== undefined) meta.annotations = { ...input.annotations };
  return meta;
}

/**
 * A selector with the object's namespace filled in when it names neither namespaces nor pods:
 * Chaos Mesh would otherwise look in every namespace it may see.
 */
export function selection(input: SelectionInput, namespace: string | undefined, defaultMode: SelectorMode): { selector: PodSelectorSpec; mode: SelectorMode; value?: string } {
  const selector: PodSelectorSpec = structuredClone(input.selector);
  if (namespace !== undefined && selector.namespaces === undefined && selector.pods === undefined) selector.namespaces = [namespace];
  const out: { selector: PodSelectorSpec; mode: SelectorMode; value?: string } = { selector, mode: input.mode ?? defaultMode };
  if (input.value !== undefined) out.value = String(input.value);
  return out;
}

export function experimentBase<K extends ChaosKind>(kind: K, input: MetadataInput): { apiVersion: string; kind: K; metadata: ObjectMeta } {
  return { apiVersion: CHAOS_API_VERSION, kind, metadata: chaosMetadata(input) };
}
