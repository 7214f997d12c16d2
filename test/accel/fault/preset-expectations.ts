/** What each preset must do to device 3 (or to the backend): health state, reasons and the failing/warning diagnose checks. */
export interface PresetExpectation {
  readonly state: 'healthy' | 'degraded' | 'unhealthy';
  /** Substrings of the health reasons, in order. */
  readonly reasons: readonly string[];
  /** `check:status:action` of every failing or warning check of the device. */
  readonly findings: readonly string[];
}

export const DEVICE_PRESETS: Readonly<Record<string, PresetExpectation>> = {
  'gpu-lost': { state: 'unhealthy', reasons: ['XID 79', 'GPU is lost'], findings: ['device-access:fail:reboot-node', 'xid:fail:reboot-node'] },
  'ecc-dbe': {
    state: 'unhealthy',
    reasons: ['XID 48', 'ECC double-bit errors: 2', 'retired pages pending'],
    findings: ['ecc-volatile:fail:reset-gpu', 'ecc-aggregate:warn:monitor', 'retired-pages:warn:reset-gpu', 'xid:fail:reset-gpu'],
  },
  'row-remap-pending': { state: 'unhealthy', reasons: ['XID 63', 'row remap pending'], findings: ['row-remap:warn:reset-gpu', 'xid:fail:reset-gpu'] },
  'row-remap-failure': { state: 'unhealthy', reasons: ['XID 64', 'row remap failure'], findings: ['row-remap:fail:reset-gpu', 'xid:fail:reset-gpu'] },
  // Health and diagnose judge with the same rules (src/accel/conditions.ts): degraded ⇔ warn, unhealthy ⇔ fail.
  'pcie-degraded': { state: 'degraded', reasons: ['PCIe link gen 3 below max 5', 'PCIe link width x8'], findings: ['pcie-gen:warn:check-cabling', 'pcie-width:warn:check-cabling', 'pcie-replay:warn:monitor'] },
  'nvlink-down': { state: 'unhealthy', reasons: ['XID 74', 'NVLink inactive: link 0'], findings: ['nvlink:warn:reset-gpu', 'xid:fail:reset-gpu'] },
  'thermal-slowdown': { state: 'degraded', reasons: ['temperature 92 °C', 'HW thermal slowdown'], findings: ['temperature:warn:cool-down', 'clock-events:warn:cool-down'] },
  'power-brake': { state: 'degraded', reasons: ['HW power brake'], findings: ['power:warn:check-power'] },
  'recovery-reboot': { state: 'unhealthy', reasons: ['XID 154', 'recovery action NODE_REBOOT (2)'], findings: ['recovery-action:fail:reboot-node', 'xid:fail:reboot-node'] },
  'npu-fault': { state: 'unhealthy', reasons: ['NPU major alarm (health 2)', '0x80E24E00'], findings: ['npu-health:fail:reset-npu', 'npu-fault-codes:fail:reset-npu'] },
  'npu-lost': { state: 'unhealthy', reasons: ['NPU does not answer', 'NPU not present (health 0xFFFFFFFF)'], findings: ['device-access:fail:reboot-node', 'npu-health:fail:reboot-node'] },
};

/** Library presets: the backend's failed status message and the node-level driver finding. */
export const LIBRARY_PRESETS: Readonly<Record<string, { readonly message: string; readonly vendor: 'nvidia' | 'ascend' }>> = {
  'nvml-init-failure': { message: 'nvmlInitWithFlags: DRIVER_NOT_LOADED (9)', vendor: 'nvidia' },
  'npu-init-failure': { message: 'dcmi_init: INNER_ERR (-8005)', vendor: 'ascend' },
};
