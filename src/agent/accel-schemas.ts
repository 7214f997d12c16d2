/**
 * TypeBox schemas of the accelerator routes (/v1/accelerators). They mirror src/accel/types.ts;
 * the compile-time checks at the bottom fail the build when the two drift, and fastify's response
 * serializer drops any field a schema leaves out, so a drift would silently lose data otherwise.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ApiError, BackendStatus, DeviceIdentity, DeviceSample, ProbeRun } from '../accel/types.js';

const Num = (description?: string) => Type.Optional(Type.Number(description === undefined ? {} : { description }));
const Bool = () => Type.Optional(Type.Boolean());

export const ApiErrorView = Type.Object({
  api: Type.String({ description: 'The native call, e.g. `nvmlDeviceGetClockInfo(SM)`.' }),
  code: Type.String({ description: 'The vendor return code name, e.g. `GPU_IS_LOST`.' }),
  value: Type.Integer({ description: 'The raw return code (-1 for `CALL_TIMEOUT`: the call did not return in time).' }),
  message: Type.Optional(Type.String({ description: 'Set where the code alone does not say it, e.g. `nvmlDeviceGetPowerUsage did not return within 2000 ms`.' })),
});

export const BackendStatusView = Type.Object({
  kind: Type.Union([Type.Literal('nvml'), Type.Literal('dcmi'), Type.Literal('sim')]),
  vendor: Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')]),
  state: Type.Union([Type.Literal('up'), Type.Literal('absent'), Type.Literal('failed')]),
  message: Type.Optional(Type.String()),
  error: Type.Optional(ApiErrorView),
  libraryPath: Type.Optional(Type.String()),
  driverVersion: Type.Optional(Type.String()),
  libraryVersion: Type.Optional(Type.String()),
});

export const IdentityView = Type.Object({
  vendor: Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')]),
  index: Type.Integer(),
  uuid: Type.String(),
  name: Type.String(),
  pciBusId: Type.String(),
  serial: Type.Optional(Type.String()),
  arch: Type.Optional(Type.String()),
  minor: Type.Optional(Type.Integer()),
  cardId: Type.Optional(Type.Integer()),
  deviceId: Type.Optional(Type.Integer()),
  phyId: Type.Optional(Type.Integer()),
});

const NvLinkView = Type.Object({
  link: Type.Integer(),
  active: Type.Boolean(),
  crcFlitErrors: Num(),
  crcDataErrors: Num(),
  replayErrors: Num(),
  recoveryErrors: Num(),
});

/** One device's readings in the backends' base units; an absent field was not read (never 0). */
export const SampleView = Type.Object(
  {
    memoryTotalBytes: Num(),
    memoryUsedBytes: Num(),
    memoryFreeBytes: Num(),
    memoryReservedBytes: Num(),
    gpuUtilPercent: Num(),
    memoryUtilPercent: Num(),
    encoderUtilPercent: Num(),
    decoderUtilPercent: Num(),
    gpuTempC: Num(),
    memoryTempC: Num(),
    slowdownTempC: Num(),
    shutdownTempC: Num(),
    powerW: Num(),
    powerLimitW: Num(),
    energyMj: Num('Energy since driver load, millijoules.'),
    smClockMhz: Num(),
    memClockMhz: Num(),
    graphicsClockMhz: Num(),
    maxSmClockMhz: Num(),
    pstate: Num(),
    clockEventReasons: Num('NVML clock-event reason bitmask.'),
    pcieGen: Num(),
    pcieGenMax: Num(),
    pcieWidth: Num(),
    pcieWidthMax: Num(),
    pcieTxKBps: Num(),
    pcieRxKBps: Num(),
    pcieReplayCount: Num(),
    eccEnabled: Bool(),
    eccSbeVolatile: Num(),
    eccDbeVolatile: Num(),
    eccSbeAggregate: Num(),
    eccDbeAggregate: Num(),
    eccSramUncorrectedVolatile: Num(),
    eccDramUncorrectedVolatile: Num(),
    eccDramCorrectedVolatile: Num(),
    retiredPagesSbe: Num(),
    retiredPagesDbe: Num(),
    retiredPagesPending: Bool(),
    remappedRowsCorrectable: Num(),
    remappedRowsUncorrectable: Num(),
    remapPending: Bool(),
    remapFailure: Bool(),
    nvlinks: Type.Optional(Type.Array(NvLinkView)),
    recoveryAction: Num('NVML field 230: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset.'),
    processes: Type.Optional(Type.Array(Type.Object({ pid: Type.Integer(), usedMemoryBytes: Type.Number() }))),
    npuHealth: Num('dcmi_get_device_health: 0 normal, 1 minor, 2 major, 3 critical, 4294967295 absent.'),
    npuFaultCodes: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 0xffffffff }), { description: 'Unsigned 32-bit fault codes.' })),
    aicoreUtilPercent: Num(),
    aicoreFreqMhz: Num(),
    hbmTotalBytes: Num(),
    hbmUsedBytes: Num(),
    hbmTempC: Num(),
    hbmEccSbe: Num(),
    hbmEccDbe: Num(),
    npuNetworkHealth: Num(),
    voltageV: Num(),
  },
  { description: 'The last sample; fields that were not read (NOT_SUPPORTED, failed) are absent.' },
);

export const HealthView = Type.Object({
  state: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy'), Type.Literal('unknown')]),
  reasons: Type.Array(Type.String(), { description: 'Why, worst first.' }),
  since: Type.Optional(Type.Number({ description: 'Unhealthy since (ms epoch).' })),
});

export const DeviceView = Type.Object({
  index: Type.Integer({ description: 'NVML index, or the Ascend logic id.' }),
  vendor: Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')]),
  uuid: Type.String(),
  name: Type.String(),
  pciBusId: Type.String(),
  backend: Type.Union([Type.Literal('nvml'), Type.Literal('dcmi'), Type.Literal('sim')]),
  identity: IdentityView,
  health: HealthView,
  sample: SampleView,
  unsupported: Type.Array(Type.String(), { description: 'Native calls NOT_SUPPORTED on this device: their fields are absent.' }),
  errors: Type.Array(ApiErrorView, { description: 'Calls of the last sample that failed.' }),
  recentXids: Type.Array(Type.Object({ xid: Type.Integer(), at: Type.Number() }), { description: 'XIDs since the agent started, newest last (bounded).' }),
  xidCounts: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Integer(), { description: 'XID → count since the agent started.' }),
});

export const AcceleratorList = Type.Object({
  node: Type.String(),
  seq: Type.Integer({ description: 'Snapshot number: increases with every sample.' }),
  at: Type.Number({ description: 'When the snapshot was taken (ms epoch).' }),
  backends: Type.Array(BackendStatusView),
  devices: Type.Array(DeviceView, { description: 'NVIDIA then Ascend, by index.' }),
  probes: Type.Array(Type.Object({ probe: Type.String(), durationSeconds: Type.Number(), success: Type.Boolean() })),
});

export const DeviceParams = Type.Object({ index: Type.Integer({ minimum: 0, description: 'Device index (NVML index or Ascend logic id).' }) });
export const DeviceQuery = Type.Object({
  vendor: Type.Optional(Type.Union([Type.Literal('nvidia'), Type.Literal('ascend')], { description: 'Needed only when both vendors have a device with this index; NVIDIA otherwise wins.' })),
});

// Compile-time drift checks: each side must accept the other (readonly arrays aside).
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
const drift: [
  Same<Static<typeof SampleView>, Mutable<DeviceSample>>,
  Same<Static<typeof IdentityView>, Mutable<DeviceIdentity>>,
  Same<Static<typeof BackendStatusView>, Mutable<BackendStatus>>,
  Same<Static<typeof ApiErrorView>, Mutable<ApiError>>,
  Same<Static<typeof AcceleratorList>['probes'][number], Mutable<ProbeRun>>,
] = [true, true, true, true, true];
void drift;
