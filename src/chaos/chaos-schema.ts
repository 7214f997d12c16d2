/**
 * TypeBox schemas of the Chaos Mesh (chaos-mesh.org/v1alpha1) spec fields brixlet builds and
 * accepts. They check structure only (types, enums, no unknown keys, so a typo such as `durtion`
 * is caught before the API server silently prunes it); value formats and cross-field rules live
 * in validate-chaos.ts, which words them better than a regex mismatch. The tests prove every
 * object that passes here also passes the real CRD schemas.
 */
import { type Static, Type } from '@sinclair/typebox';

const closed = { additionalProperties: false } as const;
const StrMap = Type.Record(Type.String(), Type.String());
const StrList = Type.Array(Type.String());

export const SelectorMode = Type.Union([Type.Literal('one'), Type.Literal('all'), Type.Literal('fixed'), Type.Literal('fixed-percent'), Type.Literal('random-max-percent')]);
export type SelectorMode = Static<typeof SelectorMode>;

export const PodSelectorSpec = Type.Object(
  {
    namespaces: Type.Optional(StrList),
    labelSelectors: Type.Optional(StrMap),
    expressionSelectors: Type.Optional(
      Type.Array(Type.Object({ key: Type.String(), operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]), values: Type.Optional(StrList) }, closed)),
    ),
    annotationSelectors: Type.Optional(StrMap),
    fieldSelectors: Type.Optional(StrMap),
    nodes: Type.Optional(StrList),
    nodeSelectors: Type.Optional(StrMap),
    /** namespace → pod names. */
    pods: Type.Optional(Type.Record(Type.String(), StrList)),
    podPhaseSelectors: Type.Optional(StrList),
  },
  closed,
);
export type PodSelectorSpec = Static<typeof PodSelectorSpec>;

/** Fields every experiment kind shares (Chaos Mesh's inlined PodSelector + duration). */
const selected = {
  selector: PodSelectorSpec,
  mode: SelectorMode,
  value: Type.Optional(Type.String()),
  duration: Type.Optional(Type.String()),
  remoteCluster: Type.Optional(Type.String()),
};

export const PodChaosSpec = Type.Object(
  {
    ...selected,
    action: Type.Union([Type.Literal('pod-kill'), Type.Literal('pod-failure'), Type.Literal('container-kill')]),
    gracePeriod: Type.Optional(Type.Integer({ minimum: 0 })),
    containerNames: Type.Optional(StrList),
  },
  closed,
);
export type PodChaosSpec = Static<typeof PodChaosSpec>;

export const NetworkAction = Type.Union([
  Type.Literal('netem'),
  Type.Literal('delay'),
  Type.Literal('loss'),
  Type.Literal('duplicate'),
  Type.Literal('corrupt'),
  Type.Literal('partition'),
  Type.Literal('bandwidth'),
]);
const Percentish = { correlation: Type.Optional(Type.String()) };

export const NetworkChaosSpec = Type.Object(
  {
    ...selected,
    action: NetworkAction,
    direction: Type.Optional(Type.Union([Type.Literal('to'), Type.Literal('from'), Type.Literal('both')])),
    target: Type.Optional(Type.Object({ selector: PodSelectorSpec, mode: SelectorMode, value: Type.Optional(Type.String()) }, closed)),
    externalTargets: Type.Optional(StrList),
    device: Type.Optional(Type.String()),
    targetDevice: Type.Optional(Type.String()),
    delay: Type.Optional(
      Type.Object(
        {
          latency: Type.String(),
          jitter: Type.Optional(Type.String()),
          ...Percentish,
          reorder: Type.Optional(Type.Object({ reorder: Type.String(), gap: Type.Integer(), ...Percentish }, closed)),
        },
        closed,
      ),
    ),
    loss: Type.Optional(Type.Object({ loss: Type.String(), ...Percentish }, closed)),
    duplicate: Type.Optional(Type.Object({ duplicate: Type.String(), ...Percentish }, closed)),
    corrupt: Type.Optional(Type.Object({ corrupt: Type.String(), ...Percentish }, closed)),
    bandwidth: Type.Optional(
      Type.Object(
        {
          rate: Type.String(),
          limit: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
          buffer: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
          peakrate: Type.Optional(Type.Integer({ minimum: 0 })),
          minburst: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type NetworkChaosSpec = Static<typeof NetworkChaosSpec>;

const Workers = Type.Integer({ minimum: 1, maximum: 8192 });

export const StressChaosSpec = Type.Object(
  {
    ...selected,
    containerNames: Type.Optional(StrList),
    stressors: Type.Optional(
      Type.Object(
        {
          cpu: Type.Optional(Type.Object({ workers: Workers, load: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })), options: Type.Optional(StrList) }, closed)),
          memory: Type.Optional(
            Type.Object(
              { workers: Workers, size: Type.Optional(Type.String()), oomScoreAdj: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000 })), options: Type.Optional(StrList) },
              closed,
            ),
          ),
        },
        closed,
      ),
    ),
    /** Raw stress-ng options, passed through. */
    stressngStressors: Type.Optional(Type.String()),
  },
  closed,
);
export type StressChaosSpec = Static<typeof StressChaosSpec>;

export const IOChaosSpec = Type.Object(
  {
    ...selected,
    action: Type.Union([Type.Literal('latency'), Type.Literal('fault'), Type.Literal('attrOverride'), Type.Literal('mistake')]),
    volumePath: Type.String(),
    path: Type.Optional(Type.String()),
    methods: Type.Optional(StrList),
    percent: Type.Optional(Type.Integer()),
    delay: Type.Optional(Type.String()),
    errno: Type.Optional(Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 })),
    containerNames: Type.Optional(StrList),
    // attrOverride / mistake are accepted from files as the CRD defines them; brixlet does not build them.
    attr: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    mistake: Type.Optional(
      Type.Object(
        {
          filling: Type.Optional(Type.Union([Type.Literal('zero'), Type.Literal('random')])),
          maxOccurrences: Type.Optional(Type.Integer({ minimum: 1 })),
          maxLength: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type IOChaosSpec = Static<typeof IOChaosSpec>;

export const ScheduleSpec = Type.Object(
  {
    /** Cron (5 fields), a descriptor (`@hourly`) or `@every <duration>`. */
    schedule: Type.String(),
    type: Type.String(),
    concurrencyPolicy: Type.Optional(Type.Union([Type.Literal('Forbid'), Type.Literal('Allow')])),
    historyLimit: Type.Optional(Type.Integer({ minimum: 1 })),
    startingDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    podChaos: Type.Optional(PodChaosSpec),
    networkChaos: Type.Optional(NetworkChaosSpec),
    stressChaos: Type.Optional(StressChaosSpec),
    ioChaos: Type.Optional(IOChaosSpec),
  },
  closed,
);
export type ScheduleSpec = Static<typeof ScheduleSpec>;

export const ChaosMetadata = Type.Object(
  {
    name: Type.Optional(Type.String()),
    generateName: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    labels: Type.Optional(StrMap),
    annotations: Type.Optional(StrMap),
  },
  // Files may carry server-set metadata (uid, resourceVersion…) from `kubectl get -o yaml`.
  { additionalProperties: true },
);
