/**
 * The vendor-neutral accelerator model. Every backend (nvml, dcmi, sim) reads devices into these
 * shapes; the sampler, metrics, health and diagnose only ever see these. A field that is undefined
 * was not read (not supported, failed, or not asked for) and is never exported as 0.
 */

export type Vendor = 'nvidia' | 'ascend';
export type BackendKind = 'nvml' | 'dcmi' | 'sim';

/** Probe groups: one probe file each under src/accel/probes/, one backend read each. */
export const PROBE_GROUPS = [
  'memory',
  'utilization',
  'thermal',
  'power',
  'clocks',
  'pcie',
  'ecc',
  'retirement',
  'nvlink',
  'recovery',
  'processes',
  'npu-health',
] as const;
export type ProbeGroup = (typeof PROBE_GROUPS)[number];

export interface DeviceIdentity {
  readonly vendor: Vendor;
  /** Index as the vendor library numbers it (NVML index; for Ascend the logic id). */
  readonly index: number;
  readonly uuid: string;
  /** Marketing name, e.g. `NVIDIA H100 80GB HBM3`, `Ascend910B3`. */
  readonly name: string;
  /** `00000000:18:00.0` */
  readonly pciBusId: string;
  readonly serial?: string;
  /** NVML architecture number (7 Ampere, 9 Hopper …) or Ascend chip version. */
  readonly arch?: string;
  /** NVIDIA minor number: the device is /dev/nvidia<minor>. */
  readonly minor?: number;
  /** Ascend card and device ids (dcmi addresses a chip by both). */
  readonly cardId?: number;
  readonly deviceId?: number;
  readonly phyId?: number;
}

export interface NvLinkSample {
  readonly link: number;
  readonly active: boolean;
  readonly crcFlitErrors?: number;
  readonly crcDataErrors?: number;
  readonly replayErrors?: number;
  readonly recoveryErrors?: number;
}

export interface ProcessSample {
  readonly pid: number;
  readonly usedMemoryBytes: number;
}

/** One device's readings. All optional: a group that was not read leaves its fields undefined. */
export interface DeviceSample {
  // memory workloads allocate from: NVIDIA framebuffer; Ascend HBM (the backends fill both sets for Ascend)
  memoryTotalBytes?: number;
  memoryUsedBytes?: number;
  memoryFreeBytes?: number;
  memoryReservedBytes?: number;
  // utilization, percent 0-100
  gpuUtilPercent?: number;
  memoryUtilPercent?: number;
  encoderUtilPercent?: number;
  decoderUtilPercent?: number;
  // thermal, °C
  gpuTempC?: number;
  memoryTempC?: number;
  slowdownTempC?: number;
  shutdownTempC?: number;
  // power
  powerW?: number;
  powerLimitW?: number;
  /** Energy since driver load, millijoules (NVML counter). */
  energyMj?: number;
  // clocks, MHz
  smClockMhz?: number;
  memClockMhz?: number;
  graphicsClockMhz?: number;
  maxSmClockMhz?: number;
  pstate?: number;
  /** NVML clock-event (throttle) reason bitmask. */
  clockEventReasons?: number;
  // pcie
  pcieGen?: number;
  pcieGenMax?: number;
  pcieWidth?: number;
  pcieWidthMax?: number;
  pcieTxKBps?: number;
  pcieRxKBps?: number;
  pcieReplayCount?: number;
  // ecc
  eccEnabled?: boolean;
  eccSbeVolatile?: number;
  eccDbeVolatile?: number;
  eccSbeAggregate?: number;
  eccDbeAggregate?: number;
  eccSramUncorrectedVolatile?: number;
  eccDramUncorrectedVolatile?: number;
  eccDramCorrectedVolatile?: number;
  // retirement: retired pages (pre-Ampere) and row remapping (Ampere+)
  retiredPagesSbe?: number;
  retiredPagesDbe?: number;
  retiredPagesPending?: boolean;
  remappedRowsCorrectable?: number;
  remappedRowsUncorrectable?: number;
  remapPending?: boolean;
  remapFailure?: boolean;
  // nvlink
  nvlinks?: readonly NvLinkSample[];
  // recovery action (NVML field 230): 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset
  recoveryAction?: number;
  processes?: readonly ProcessSample[];
  // ascend (npu-health group and the shared groups above)
  /** dcmi_get_device_health: 0 normal, 1 minor, 2 major, 3 critical, 0xFFFFFFFF absent. */
  npuHealth?: number;
  /** dcmi_get_device_errorcode_v2, unsigned 32-bit codes. */
  npuFaultCodes?: readonly number[];
  aicoreUtilPercent?: number;
  aicoreFreqMhz?: number;
  hbmTotalBytes?: number;
  hbmUsedBytes?: number;
  hbmTempC?: number;
  hbmEccSbe?: number;
  hbmEccDbe?: number;
  /** dcmi_get_device_network_health: 0 ok … 5 fault, 6 init. */
  npuNetworkHealth?: number;
  voltageV?: number;
}

/** A native call that did not succeed. `code` is the vendor's symbolic name, `value` the raw number. */
export interface ApiError {
  readonly api: string;
  readonly code: string;
  readonly value: number;
  /** Only where the code alone does not say it, e.g. which call did not return and for how long. */
  readonly message?: string;
}

/**
 * ApiError code of a call that did not return within `accel.callTimeout` (or was not made while
 * earlier calls are still stuck): the device's health is unknown, with the error's message as why.
 */
export const CALL_TIMEOUT = 'CALL_TIMEOUT';

export interface GroupRead {
  readonly values: DeviceSample;
  /** Calls that failed with something other than NOT_SUPPORTED (those are remembered and skipped). */
  readonly errors: readonly ApiError[];
  /** APIs found NOT_SUPPORTED (now or earlier): their fields stay undefined. */
  readonly unsupported: readonly string[];
}

export type BackendState = 'up' | 'absent' | 'failed';

export interface BackendStatus {
  readonly kind: BackendKind;
  readonly vendor: Vendor;
  readonly state: BackendState;
  /** Why absent or failed, e.g. "libnvidia-ml.so.1 not found" or "nvmlInit_v2: DRIVER_NOT_LOADED (9)". */
  readonly message?: string;
  readonly error?: ApiError;
  readonly libraryPath?: string;
  readonly driverVersion?: string;
  readonly libraryVersion?: string;
}

export type AccelEvent =
  | { readonly kind: 'xid'; readonly index: number; readonly xid: number; readonly at: number }
  | { readonly kind: 'ecc'; readonly index: number; readonly type: 'sbe' | 'dbe'; readonly at: number }
  /** The event source itself failed: every device's health becomes unknown. */
  | { readonly kind: 'event-error'; readonly error: ApiError; readonly at: number };

export interface AcceleratorBackend {
  readonly kind: BackendKind;
  readonly vendor: Vendor;
  /** Loads the library and initialises it; never throws for an absent library or failed init. */
  open(): Promise<BackendStatus>;
  status(): BackendStatus;
  /** Devices found at open (empty unless state is up). */
  devices(): readonly DeviceIdentity[];
  /** Reads one probe group of one device. Groups a vendor does not have resolve with empty values. */
  read(index: number, group: ProbeGroup): Promise<GroupRead>;
  /** Subscribes to XID/ECC events; the returned function unsubscribes. */
  onEvent(listener: (event: AccelEvent) => void): () => void;
  /** Stops event delivery and shuts the library down. */
  close(): Promise<void>;
}

export type HealthState = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

export interface DeviceHealth {
  readonly state: HealthState;
  /** Why, worst first, e.g. "XID 79 (GPU has fallen off the bus)", "row remap failure". */
  readonly reasons: readonly string[];
  /** Since when the device is unhealthy (ms epoch); unhealthy is sticky until recovery clears it. */
  readonly since?: number;
}

export interface XidRecord {
  readonly xid: number;
  readonly at: number;
}

export interface DeviceSnapshot {
  readonly identity: DeviceIdentity;
  readonly backend: BackendKind;
  readonly sample: Readonly<DeviceSample>;
  /** Failed calls of this sample (not NOT_SUPPORTED). */
  readonly errors: readonly ApiError[];
  /** APIs that are NOT_SUPPORTED on this device: their fields are absent, never 0. */
  readonly unsupported: readonly string[];
  readonly health: DeviceHealth;
  /** XIDs seen since the agent started, newest last (bounded). */
  readonly recentXids: readonly XidRecord[];
  /** XID number → count since the agent started. */
  readonly xidCounts: Readonly<Record<number, number>>;
}

export interface ProbeRun {
  readonly probe: string;
  readonly durationSeconds: number;
  readonly success: boolean;
}

/** What the sampler publishes every interval: immutable, read by /metrics, /v1/accelerators and diagnose. */
export interface AccelSnapshot {
  readonly seq: number;
  /** ms epoch when sampling finished. */
  readonly at: number;
  readonly node: string;
  readonly backends: readonly BackendStatus[];
  /** Ordered by vendor (nvidia, then ascend), then index. */
  readonly devices: readonly DeviceSnapshot[];
  readonly probes: readonly ProbeRun[];
}
