/**
 * The coordinator's view of the fleet: nodes (one per agent) and the inference engines the gateway
 * routes to. Reports are validated before they are stored; the registry never holds a half-valid node.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BrixletError } from '../../common/errors.js';

export const NodeReport = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, description: 'Kubernetes node name (or host name).' }),
    agentUrl: Type.String({ minLength: 1, maxLength: 2048, description: 'Base URL of the node agent API.' }),
    version: Type.String({ maxLength: 64 }),
    components: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 }),
  },
  { additionalProperties: false },
);
export type NodeReport = Static<typeof NodeReport>;

export const NodeView = Type.Composite([
  NodeReport,
  Type.Object({
    firstSeen: Type.String({ format: 'date-time' }),
    lastSeen: Type.String({ format: 'date-time' }),
  }),
]);
export type NodeView = Static<typeof NodeView>;

export const Engine = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 253 }),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    models: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 256 }),
    node: Type.Optional(Type.String({ maxLength: 253 })),
  },
  { additionalProperties: false },
);
export type Engine = Static<typeof Engine>;

export class Registry {
  private readonly nodes = new Map<string, NodeView>();
  private readonly engineMap = new Map<string, Engine>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Adds or refreshes a node from an agent report. */
  upsertNode(report: unknown): NodeView {
    if (!Value.Check(NodeReport, report)) {
      const first = Value.Errors(NodeReport, report).First();
      throw new BrixletError('BRX_ERR_REGISTRY_INVALID_NODE', { reason: `${first?.path || '/'} ${first?.message ?? 'is invalid'}` });
    }
    const at = this.now().toISOString();
    const view: NodeView = { ...report, components: [...report.components], firstSeen: this.nodes.get(report.name)?.firstSeen ?? at, lastSeen: at };
    this.nodes.set(report.name, view);
    return view;
  }

  removeNode(name: string): boolean {
    return this.nodes.delete(name);
  }

  listNodes(): NodeView[] {
    return [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  upsertEngine(engine: Engine): void {
    if (!Value.Check(Engine, engine)) throw new TypeError(`invalid engine ${JSON.stringify(engine)}`);
    this.engineMap.set(engine.id, { ...engine, models: [...engine.models] });
  }

  removeEngine(id: string): boolean {
    return this.engineMap.delete(id);
  }

  engines(): Engine[] {
    return [...this.engineMap.values()];
  }

  /** Every model served by at least one engine, sorted, each once. */
  models(): string[] {
    const all = new Set<string>();
    for (const e of this.engineMap.values()) for (const m of e.models) all.add(m);
    return [...all].sort();
  }
}
