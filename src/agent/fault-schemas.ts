/**
 * TypeBox shapes of the fault API (/v1/faults*): request bodies reuse the rule schema clients
 * write (src/accel/fault/rule-schema.ts); responses describe the normalised rule the engine keeps.
 */
import { Type } from '@sinclair/typebox';
import { FaultEffect, FaultRuleInput, FaultTarget, FaultTrigger, FaultWhat, MAX_TTL_MS } from '../accel/fault/rule-schema.js';

export { FaultRuleInput };

const VendorName = Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')]);
const RuleId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' });

export const FaultRuleView = Type.Object({
  id: Type.String(),
  target: FaultTarget,
  what: FaultWhat,
  effect: FaultEffect,
  trigger: Type.Optional(FaultTrigger),
  sticky: Type.Boolean(),
  ttlMs: Type.Integer(),
  createdAt: Type.Integer({ description: 'ms epoch' }),
  expiresAt: Type.Integer({ description: 'ms epoch: the rule is dropped then' }),
  vendors: Type.Array(VendorName, { description: 'Vendors the rule applies to (target.vendor, else inferred).' }),
  codes: Type.Object({ nvidia: Type.Optional(Type.Integer()), ascend: Type.Optional(Type.Integer()) }, { description: 'effect.return as each vendor\'s number.' }),
  init: Type.Boolean({ description: 'Fails the library\'s initialisation rather than a device\'s calls.' }),
  window: Type.Optional(Type.Object({ start: Type.Integer(), end: Type.Optional(Type.Integer()) })),
  calls: Type.Integer({ description: 'Matching calls evaluated so far.' }),
  applied: Type.Integer({ description: 'Times the rule applied.' }),
  latched: Type.Boolean({ description: 'A sticky rule whose trigger has fired.' }),
});

export const FaultRuleList = Type.Object({
  rules: Type.Array(FaultRuleView, { description: 'Active rules in priority order (first added first).' }),
  limit: Type.Integer({ description: 'Most rules the agent keeps at once.' }),
  generation: Type.Integer({ description: 'Bumped on every change of the rule set.' }),
});

export const FaultIdParams = Type.Object({ id: RuleId });

export const RemovedRule = Type.Object({ removed: FaultRuleView });

export const ResetResult = Type.Object({ removed: Type.Integer({ description: 'How many rules there were.' }) });

export const PresetView = Type.Object({
  name: Type.String(),
  vendor: VendorName,
  scope: Type.Union([Type.Literal('library'), Type.Literal('device')], { description: 'library presets (init failures) take no device.' }),
  description: Type.String(),
  params: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export const PresetList = Type.Object({ presets: Type.Array(PresetView) });

export const PresetParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) });

export const PresetBody = Type.Object(
  {
    target: Type.Optional(FaultTarget),
    params: Type.Optional(
      Type.Object(
        {
          code: Type.Optional(Type.Integer({ minimum: -0x80000000, maximum: 0xffffffff, description: 'nvml-init-failure: 9, 12 or 18; npu-fault: the fault code.' })),
          links: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 17 }), { minItems: 1, maxItems: 18, description: 'nvlink-down: the links to take down.' })),
          tempC: Type.Optional(Type.Number({ minimum: -273, maximum: 1000, description: 'thermal-slowdown: the core temperature.' })),
        },
        { additionalProperties: false },
      ),
    ),
    ttlMs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_MS })),
    sticky: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ImportResult = Type.Object({
  version: Type.Optional(Type.String({ description: 'The file\'s `version` key.' })),
  added: Type.Array(FaultRuleView, { description: 'Rules added (or replacing those of an earlier import with the same id).' }),
  problems: Type.Array(Type.Object({ key: Type.String({ description: 'Dotted key path, e.g. gpus.1.device_name.' }), message: Type.String() }), {
    description: 'Keys brixlet did not turn into rules, with why.',
  }),
});

export const TraceQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'The last N evaluations.' }) },
  { additionalProperties: false },
);

export const TraceEntryView = Type.Object({
  at: Type.Integer({ description: 'ms epoch' }),
  rule: Type.String(),
  api: Type.String({ description: 'The vendor call it was evaluated for.' }),
  vendor: VendorName,
  device: Type.Union([Type.Integer(), Type.Null()], { description: 'Device index; null for an init call.' }),
  call: Type.Integer({ description: 'The rule\'s matching calls so far, this one included.' }),
  rolled: Type.Optional(Type.Number({ description: 'The PRNG draw when the rule has a probability.' })),
  applied: Type.Boolean(),
  reason: Type.String({ description: 'applied, sticky, before-window, after-window, after-calls, times-exhausted or probability.' }),
});
export const TraceList = Type.Object({ entries: Type.Array(TraceEntryView, { description: 'Oldest first.' }) });
