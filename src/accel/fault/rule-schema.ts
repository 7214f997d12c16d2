/**
 * The fault rule as clients send it (POST /v1/faults, presets, TOML import), in TypeBox: the
 * HTTP layer publishes it in /openapi.json and `parseFaultRule` checks and normalises it.
 */
import { type Static, Type } from '@sinclair/typebox';

/** Rules live at most a day: a forgotten fault must not outlive the test that set it. */
export const MAX_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_TTL_MS = 10 * 60 * 1000;

export const FAULT_CLASSES = ['init', 'lost', 'ecc', 'remap', 'pcie', 'nvlink', 'thermal', 'power', 'xid', 'npu-health', 'npu-fault-code'] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

const U32 = Type.Integer({ minimum: 0, maximum: 0xffffffff });
const U64 = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Num = Type.Number({ minimum: 0 });
const Pct = Type.Number({ minimum: 0, maximum: 100 });
const Celsius = Type.Number({ minimum: -273, maximum: 1000 });
/** An Ascend fault code: unsigned 32-bit, as a number or hex text ("0x80E24E00"). */
export const FaultCode = Type.Union([U32, Type.String({ pattern: '^0[xX][0-9a-fA-F]{1,8}$' })]);

const NvLinkOverride = Type.Object(
  {
    link: Type.Integer({ minimum: 0, maximum: 17 }),
    active: Type.Optional(Type.Boolean()),
    crcFlitErrors: Type.Optional(U64),
    crcDataErrors: Type.Optional(U64),
    replayErrors: Type.Optional(U64),
    recoveryErrors: Type.Optional(U64),
  },
  { additionalProperties: false },
);

/** Value overrides in DeviceSample units (bytes, °C, W, MHz); `nvlinks` entries merge by link number. */
export const FaultValues = Type.Partial(
  Type.Object(
    {
      memoryTotalBytes: U64,
      memoryUsedBytes: U64,
      memoryFreeBytes: U64,
      memoryReservedBytes: U64,
      gpuUtilPercent: Pct,
      memoryUtilPercent: Pct,
      encoderUtilPercent: Pct,
      decoderUtilPercent: Pct,
      gpuTempC: Celsius,
      memoryTempC: Celsius,
      slowdownTempC: Celsius,
      shutdownTempC: Celsius,
      powerW: Num,
      powerLimitW: Num,
      energyMj: U64,
      smClockMhz: Num,
      memClockMhz: Num,
      graphicsClockMhz: Num,
      maxSmClockMhz: Num,
      pstate: Type.Integer({ minimum: 0, maximum: 32 }),
      clockEventReasons: U64,
      pcieGen: U32,
      pcieGenMax: U32,
      pcieWidth: U32,
      pcieWidthMax: U32,
      pcieTxKBps: U32,
      pcieRxKBps: U32,
      pcieReplayCount: U32,
      eccEnabled: Type.Boolean(),
      eccSbeVolatile: U64,
      eccDbeVolatile: U64,
      eccSbeAggregate: U64,
      eccDbeAggregate: U64,
      eccSramUncorrectedVolatile: U64,
      eccDramUncorrectedVolatile: U64,
      eccDramCorrectedVolatile: U64,
      retiredPagesSbe: U32,
      retiredPagesDbe: U32,
      retiredPagesPending: Type.Boolean(),
      remappedRowsCorrectable: U32,
      remappedRowsUncorrectable: U32,
      remapPending: Type.Boolean(),
      remapFailure: Type.Boolean(),
      nvlinks: Type.Array(NvLinkOverride, { maxItems: 18 }),
      recoveryAction: Type.Integer({ minimum: 0, maximum: 4 }),
      processes: Type.Array(Type.Object({ pid: U32, usedMemoryBytes: U64 }, { additionalProperties: false }), { maxItems: 1024 }),
      npuHealth: U32,
      npuFaultCodes: Type.Array(U32, { maxItems: 128 }),
      aicoreUtilPercent: Pct,
      aicoreFreqMhz: Num,
      hbmTotalBytes: U64,
      hbmUsedBytes: U64,
      hbmTempC: Celsius,
      hbmEccSbe: U32,
      hbmEccDbe: U32,
      npuNetworkHealth: U32,
      voltageV: Num,
    },
    { additionalProperties: false },
  ),
);
export type FaultValues = Static<typeof FaultValues>;

export const FaultTarget = Type.Object(
  {
    device: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1023 }), Type.Literal('*')], { description: 'NVML index or Ascend logic id; * = every device.' })),
    uuid: Type.Optional(Type.String({ minLength: 1, maxLength: 96 })),
    vendor: Type.Optional(Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')])),
  },
  { additionalProperties: false },
);
export type FaultTarget = Static<typeof FaultTarget>;

export const FaultWhat = Type.Object(
  {
    api: Type.Optional(
      Type.String({
        pattern: '^(init|\\*|nvml[A-Za-z0-9_]+(\\([A-Z0-9_,]+\\))?|dcmi_[a-z0-9_]+(\\([A-Z0-9_,]+\\))?)$',
        description: 'A function as the backends report it (nvmlDeviceGetTemperature, nvmlDeviceGetClockInfo(SM), dcmi_get_device_health), init, or * (every per-device call).',
      }),
    ),
    class: Type.Optional(Type.Union(FAULT_CLASSES.map((c) => Type.Literal(c)))),
  },
  { additionalProperties: false },
);
export type FaultWhat = Static<typeof FaultWhat>;

export const FaultEffect = Type.Object(
  {
    return: Type.Optional(Type.Union([Type.Integer({ minimum: -0x80000000, maximum: 0x7fffffff }), Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 64 })])),
    values: Type.Optional(FaultValues),
    xid: Type.Optional(Type.Integer({ minimum: 1, maximum: 0xffff })),
    faultCodes: Type.Optional(Type.Array(FaultCode, { minItems: 1, maxItems: 128 })),
    npuHealth: Type.Optional(U32),
  },
  { additionalProperties: false },
);
export type FaultEffect = Static<typeof FaultEffect>;

export const FaultTrigger = Type.Object(
  {
    afterCalls: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, description: 'Let this many matching calls through first.' })),
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    startAt: Type.Optional(Type.Integer({ minimum: 0, description: 'Window start, ms epoch.' })),
    startInMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 * 60 * 60 * 1000, description: 'Window start, ms after the rule is added.' })),
    durationMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 60 * 60 * 1000 })),
    times: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9, description: 'Apply at most this many times.' })),
  },
  { additionalProperties: false },
);
export type FaultTrigger = Static<typeof FaultTrigger>;

export const FaultRuleInput = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' })),
    target: Type.Optional(FaultTarget),
    what: Type.Optional(FaultWhat),
    effect: FaultEffect,
    trigger: Type.Optional(FaultTrigger),
    sticky: Type.Optional(Type.Boolean({ description: 'Once the trigger fires, keep applying on every matching call until the rule is removed.' })),
    ttlMs: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_MS })),
  },
  { additionalProperties: false },
);
export type FaultRuleInput = Static<typeof FaultRuleInput>;
