/** Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`, `/version`) for the registered resources. */
import { groupVersion, type ResourceStore } from './resource-store.js';
import type { DiscoveryRoute } from './routes.js';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export function discoveryDocument(store: ResourceStore, route: DiscoveryRoute): Record<string, unknown> | undefined {
  const defs = store.definitions();
  switch (route.discovery) {
    case 'version':
      return { major: '1', minor: '30', gitVersion: 'v1.30.0-brixlet-fake', platform: `${process.platform}/${process.arch}` };
    case 'root-core':
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    case 'root-groups': {
      const groups = new Map<string, Set<string>>();
      for (const d of defs) if (d.group) groups.set(d.group, (groups.get(d.group) ?? new Set()).add(d.version));
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => {
          const list = [...versions].map((version) => ({ groupVersion: `${name}/${version}`, version }));
          return { name, versions: list, preferredVersion: list[0] };
        }),
      };
    }
    case 'resources': {
      const matching = defs.filter((d) => (d.group ?? '') === route.group && d.version === route.version);
      if (matching.length === 0 && route.group !== '') return undefined;
      const resources = matching.flatMap((d) => {
        const main = { name: d.plural, singularName: d.kind.toLowerCase(), namespaced: d.namespaced, kind: d.kind, verbs: VERBS };
        const subs = [
          ...(d.status ? [{ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] }] : []),
          ...(d.scale ? [{ name: `${d.plural}/scale`, singularName: '', namespaced: d.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }] : []),
        ];
        return [main, ...subs];
      });
      const gv = matching[0] ? groupVersion(matching[0]) : route.version;
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
    }
  }
}
