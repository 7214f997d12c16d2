/**
 * URL → resource route, the way the API server lays paths out:
 * `/api/v1[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]` for the core group and
 * `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]` for the others.
 */
import { resourceId, type ResourceDefinition, type ResourceStore } from './resource-store.js';

export interface ResourceRoute {
  readonly def: ResourceDefinition;
  readonly id: string;
  /** Undefined for cluster-scoped resources and for all-namespace collections. */
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

export type DiscoveryRoute = { readonly discovery: 'root-core' | 'root-groups' | 'version' } | { readonly discovery: 'resources'; readonly group: string; readonly version: string };

export function parseRoute(store: ResourceStore, pathname: string): ResourceRoute | DiscoveryRoute | undefined {
  const segs = pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (segs[0] === 'version' && segs.length === 1) return { discovery: 'version' };
  if (segs[0] === 'api') {
    if (segs.length === 1) return { discovery: 'root-core' };
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { discovery: 'root-groups' };
    group = segs[1] ?? '';
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  if (version === undefined) return undefined;
  if (rest.length === 0) return { discovery: 'resources', group, version };
  const defs = store.definitions().filter((d) => (d.group ?? '') === group && d.version === version);
  const find = (plural: string | undefined): ResourceDefinition | undefined => defs.find((d) => d.plural === plural);
  // `namespaces/{ns}/{plural}/…` is a namespaced path unless it names a subresource of a Namespace.
  if (rest[0] === 'namespaces' && rest.length >= 3 && find(rest[2])?.namespaced) {
    const def = find(rest[2]);
    if (!def || rest.length > 5) return undefined;
    return { def, id: resourceId(def), namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const def = find(rest[0]);
  if (!def || rest.length > 3) return undefined;
  return { def, id: resourceId(def), namespace: undefined, name: rest[1], subresource: rest[2] };
}
